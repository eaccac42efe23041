/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
// The service's figures: push-to-result latency through a real registry's notifications, and
// API list latency over 10,000 stored images. Run by `npm run bench` (after the build).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTar, ociLayout, rootfsLayer } from '../test/helpers/image-writer.js';
import { shared } from '../test/helpers/paths.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../test/helpers/registry.js';
import { customs, has } from '../test/helpers/run.js';
import { CustomsServer, makeToken } from '../test/helpers/server.js';
import { openDb } from '../src/store/db.js';
import { recordImage, saveScan } from '../src/store/images.js';
import type { ScanResult } from '../src/model/scan.js';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function main(): Promise<void> {
  if (!has('docker-registry') || !has('skopeo')) {
    console.log('server-bench: docker-registry and skopeo are needed; skipped');
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'customs-server-bench-'));
  const data = join(tmp, 'data');
  const vulndb = join(tmp, 'vuln.db');
  customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']);
  const port = await freePort();
  const hook = makeToken(['--data', data], 'webhook');
  const reg = new Registry(join(tmp, 'registry'), await freePort(), '', notifyCustoms(port, hook));
  await reg.start();
  const server = new CustomsServer(port, ['--data', data, '--db', vulndb, '--workers', '1'], {
    CUSTOMS_LOG_LEVEL: 'warn',
  });
  await server.start();
  const token = makeToken(['--data', data], 'admin');
  const api = (path: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } }).then(
      (r) => r.json() as Promise<any>,
    );
  await fetch(`${server.url}/api/v1/registries`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://${reg.host}`, insecure: true }),
  });
  try {
    // Push-to-result: Alpine 3.7.3 (14 packages) plus a marker layer, so every push is a new digest.
    const base = await rootfsLayer(
      readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')),
    );
    const total: number[] = [];
    const afterPush: number[] = [];
    for (let i = 0; i < 15; i++) {
      const dir = join(tmp, `img${i}`);
      mkdirSync(dir);
      const { manifestDigest } = ociLayout(dir, {
        layers: [base, await makeTar([{ name: 'etc/marker', content: `${i}` }])],
      });
      const t0 = performance.now();
      skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/bench/app:${i}`);
      const t1 = performance.now();
      for (;;) {
        const r = await api(`/api/v1/images?digest=${manifestDigest}`);
        if (r.items?.[0]?.status === 'scanned') break;
        await new Promise((res) => setTimeout(res, 20));
      }
      const t2 = performance.now();
      total.push(t2 - t0);
      afterPush.push(t2 - t1);
    }
    console.log(
      `push-to-result (Alpine 3.7.3, SQLite, 1 worker, 15 pushes): from skopeo start p50 ${pct(total, 50).toFixed(0)} ms, p95 ${pct(total, 95).toFixed(0)} ms; from push end p50 ${pct(afterPush, 50).toFixed(0)} ms, p95 ${pct(afterPush, 95).toFixed(0)} ms`,
    );

    // 10,000 stored images, then list queries as a dashboard makes them.
    const db = await openDb({ data });
    const sev = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) {
      const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
      await recordImage(db, {
        registry: 'registry.local',
        repository: `team${i % 50}/app${i % 7}`,
        digest,
        tag: `v${i}`,
      });
      const counts = Object.fromEntries(sev.map((s, j) => [s, (i + j) % 4 === 0 ? 1 : 0])) as Record<
        (typeof sev)[number],
        number
      >;
      const result = {
        summary: {
          total: 5,
          bySeverity: counts,
          fixable: i % 3,
          kev: i % 97 === 0 ? 1 : 0,
          grade: 'C',
          gradeReason: 'bench',
        },
        findings: [],
        packages: [],
      } as unknown as ScanResult;
      await saveScan(db, { digest, dbVersion: 'bench', source: 'bench', result, durationMs: 1 });
    }
    const seeded = (performance.now() - t0) / 1000;
    await db.close();
    const queries = [
      '/api/v1/images?limit=50',
      '/api/v1/images?limit=50&repository=team7/app0',
      '/api/v1/images?limit=50&severity=CRITICAL',
      '/api/v1/images?limit=50&kev=true',
      '/api/v1/images?limit=50&tag=v4242',
    ];
    for (const q of queries) {
      const times: number[] = [];
      let next: string | null = null;
      for (let i = 0; i < 40; i++) {
        const t = performance.now();
        const r = await api(i % 2 && next ? `${q}&cursor=${next}` : q);
        times.push(performance.now() - t);
        next = r.next;
      }
      console.log(
        `GET ${q} over 10,000 images: p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms`,
      );
    }
    console.log(`(seeding 10,000 images with scans through the store took ${seeded.toFixed(1)} s)`);
  } finally {
    await server.stop();
    await reg.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
