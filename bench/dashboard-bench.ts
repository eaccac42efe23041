/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are read loosely here */
// The dashboard over 10,000 stored images (100 of them running in production): the API calls its
// pages make, and the first paint of the overview in Chromium, on loopback. Goals: API calls
// ≤ 100 ms, first meaningful paint of the overview ≤ 1 s. Run by `npm run bench` (after the build).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../test/helpers/paths.js';
import { freePort } from '../test/helpers/registry.js';
import { customs } from '../test/helpers/run.js';
import { shared } from '../test/helpers/paths.js';
import { CustomsServer } from '../test/helpers/server.js';
import { openDb } from '../src/store/db.js';
import { recordImage, saveInventory, saveScan } from '../src/store/images.js';
import { recordDeployment } from '../src/store/deployments.js';
import type { ScanResult } from '../src/model/scan.js';
import { hasChromium, launchChromium } from '../test/helpers/browser.js';

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'customs-dashboard-bench-'));
  const data = join(tmp, 'data');
  const vulndb = join(tmp, 'vuln.db');
  customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']);
  const db = await openDb({ data });
  const t0 = performance.now();
  const sev = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
  for (let i = 0; i < 10_000; i++) {
    const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
    const repository = `team${i % 50}/app${i % 7}`;
    await recordImage(db, { registry: 'registry.local', repository, digest, tag: `v${i}` });
    const packages = Array.from({ length: 20 }, (_, j) => ({
      name: `lib${j}`,
      version: `1.${(i + j) % 30}.0`,
      type: 'npm',
      purl: `pkg:npm/lib${j}@1.${(i + j) % 30}.0`,
      licenses: ['MIT'],
      locations: [],
    }));
    await saveInventory(db, digest, {
      image: { name: repository } as any,
      packages: packages as any,
      warnings: [],
    });
    const findings = Array.from({ length: i % 5 }, (_, j) => ({
      id: `CVE-2026-${1000 + ((i + j) % 400)}`,
      aliases: [],
      package: { name: `lib${j}`, version: packages[j].version, type: 'npm', purl: packages[j].purl },
      status: j % 2 ? 'fixed' : 'affected',
      fixedVersion: j % 2 ? '9.9.9' : undefined,
      severity: { level: sev[j % 5] },
      cvss: [],
      references: [],
      dataSources: [],
      risk: { score: 5 - j, factors: [] },
    }));
    const result = {
      image: { name: repository, layers: [], history: [], labels: {}, repoTags: [] },
      findings,
      suppressed: [],
      summary: {
        total: findings.length,
        bySeverity: Object.fromEntries(
          sev.map((s) => [s, findings.filter((f) => f.severity.level === s).length]),
        ),
        fixable: findings.filter((f) => f.fixedVersion).length,
        kev: 0,
        grade: 'C',
        gradeReason: 'bench',
      },
      packages: [],
    } as unknown as ScanResult;
    await saveScan(db, { digest, dbVersion: 'bench', source: 'bench', result, durationMs: 1 });
    if (i % 100 === 0)
      await recordDeployment(db, {
        environment: 'production',
        registry: 'registry.local',
        repository,
        digest,
        namespace: 'shop',
        service: `svc${i}`,
        source: 'bench',
      });
  }
  const seeded = (performance.now() - t0) / 1000;
  await db.close();
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'server',
      'user',
      'create',
      '--name',
      'lead',
      '--role',
      'approver',
      '--password-stdin',
      '--data',
      data,
    ],
    {
      input: 'lead-correct-horse-battery\n',
    },
  );
  if (r.status !== 0) throw new Error(String(r.stderr));
  const port = await freePort();
  const server = new CustomsServer(port, ['--data', data, '--db', vulndb, '--workers', '0'], {
    CUSTOMS_LOG_LEVEL: 'warn',
  });
  await server.start();
  try {
    const login = await fetch(`${server.url}/api/v1/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'lead', password: 'lead-correct-horse-battery' }),
    });
    const cookie = (login.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
    const calls = [
      '/api/v1/overview',
      '/api/v1/images?limit=50',
      '/api/v1/images?limit=50&severity=CRITICAL',
      '/api/v1/search?q=lib3@1.7.0',
      '/api/v1/search?q=CVE-2026-1042',
      `/api/v1/images/sha256:${(4242).toString(16).padStart(64, '0')}/view?environment=production`,
      '/api/v1/environments/production/trend?days=30',
      '/api/v1/approvals',
      '/api/v1/audit?limit=200',
    ];
    console.log(
      `dashboard API over 10,000 stored images (100 running in production), SQLite; seeding took ${seeded.toFixed(0)} s`,
    );
    for (const path of calls) {
      const times: number[] = [];
      let size = 0;
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        const res = await fetch(`${server.url}${path}`, { headers: { cookie } });
        const body = await res.arrayBuffer();
        size = body.byteLength;
        if (res.status !== 200)
          throw new Error(
            `${path}: HTTP ${res.status} ${Buffer.from(body).toString().slice(0, 300)}\n${server.log.slice(-1500)}`,
          );
        times.push(performance.now() - t);
      }
      console.log(
        `  GET ${path}: p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms (${(size / 1024).toFixed(0)} KiB)`,
      );
    }
    if (!hasChromium()) {
      console.log('  (no /usr/bin/chromium: first paint not measured)');
      return;
    }
    const browser = await launchChromium();
    try {
      const paints: number[] = [];
      const ready: number[] = [];
      for (let i = 0; i < 5; i++) {
        const context = await browser.newContext();
        await context.addCookies(
          cookie
            .split('; ')
            .map((c) => ({ name: c.split('=')[0], value: c.split('=').slice(1).join('='), url: server.url })),
        );
        const page = await context.newPage();
        const t = Date.now();
        await page.goto(server.url);
        await page.locator('section[data-env="production"] tbody tr').first().waitFor();
        ready.push(Date.now() - t);
        paints.push(
          await page.evaluate(
            () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
          ),
        );
        await context.close();
      }
      console.log(
        `  overview in Chromium: first contentful paint p50 ${pct(paints, 50).toFixed(0)} ms; production table shown (first meaningful paint) p50 ${pct(ready, 50)} ms, max ${Math.max(...ready)} ms`,
      );
    } finally {
      await browser.close();
    }
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
