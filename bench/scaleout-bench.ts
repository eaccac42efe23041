/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are read loosely here */
// Scale-out figures: webhook-to-result throughput with one and two `customs worker` processes on
// PostgreSQL (events for images already in the registry arrive in one burst, as after a busy CI
// hour), and one 1 GiB image through the server (time and peak memory of the scan process).
// Run by `npm run bench` (after the build); needs docker-registry, skopeo and PostgreSQL.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { makeTar, ociLayout, rootfsLayer } from '../test/helpers/image-writer.js';
import { shared } from '../test/helpers/paths.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../test/helpers/registry.js';
import { customs, has } from '../test/helpers/run.js';
import { CustomsProcess, CustomsServer, makeToken } from '../test/helpers/server.js';

const ADMIN_URL = process.env.CUSTOMS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function sql(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(q);
  } finally {
    await c.end();
  }
}

/** Peak resident memory a process has had (VmHWM), MiB. */
function hwm(pid: number | undefined): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Peak resident memory of `customs` scan processes (children of the worker), sampled from /proc. */
function scanRss(): number {
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('scan-child.js')) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb = Math.max(kb, Number(m[1]));
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

async function main(): Promise<void> {
  if (!has('docker-registry') || !has('skopeo')) {
    console.log('scaleout-bench: docker-registry and skopeo are needed; skipped');
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'customs-scaleout-bench-'));
  const vulndb = join(tmp, 'vuln.db');
  customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']);
  const reg = new Registry(join(tmp, 'registry'), await freePort());
  await reg.start();
  const base = await rootfsLayer(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')));
  const N = 40;
  const digests: string[] = [];
  for (let i = 0; i < N; i++) {
    const dir = join(tmp, `img${i}`);
    mkdirSync(dir);
    const { manifestDigest } = ociLayout(dir, {
      layers: [base, await makeTar([{ name: 'etc/marker', content: `${i}` }])],
    });
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/fleet/app${i % 5}:v${i}`);
    digests.push(manifestDigest);
  }
  try {
    for (const workers of [1, 2]) {
      const name = `customs_bench_${process.pid}_${workers}`;
      await sql(`create database ${name}`);
      const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
      const env = { CUSTOMS_SECRET_KEY: randomBytes(32).toString('base64'), CUSTOMS_LOG_LEVEL: 'warn' };
      const port = await freePort();
      const server = new CustomsServer(
        port,
        ['--database', url, '--db', vulndb, '--workers', '0', '--data', join(tmp, `s${workers}`)],
        env,
      );
      await server.start();
      const procs = Array.from(
        { length: workers },
        (_, i) =>
          new CustomsProcess(
            ['worker', '--database', url, '--db', vulndb, '--data', join(tmp, `w${workers}-${i}`)],
            env,
          ),
      );
      for (const p of procs) p.start();
      for (const p of procs) await p.waitForLog(/customs worker ready/);
      const admin = makeToken(['--database', url], 'admin', [], env);
      const hook = makeToken(['--database', url], 'webhook', [], env);
      const call = (path: string, body?: unknown, token = admin) =>
        fetch(`${server.url}${path}`, {
          method: body ? 'POST' : 'GET',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body ? JSON.stringify(body) : undefined,
        }).then((r) => r.json() as Promise<any>);
      await call('/api/v1/registries', { url: `http://${reg.host}`, insecure: true });
      const t0 = performance.now();
      await call(
        '/webhooks/distribution',
        {
          events: digests.map((d, i) => ({
            action: 'push',
            target: {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: d,
              repository: `fleet/app${i % 5}`,
              url: `http://${reg.host}/v2/fleet/app${i % 5}/manifests/${d}`,
              tag: `v${i}`,
            },
            request: { host: reg.host },
          })),
        },
        hook,
      );
      for (;;) {
        const r = await call('/api/v1/images?limit=500');
        if ((r.items ?? []).filter((x: any) => x.status === 'scanned').length >= N) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const s = (performance.now() - t0) / 1000;
      console.log(
        `webhook burst of ${N} pushes (Alpine 3.7.3 + a marker layer), PostgreSQL, ${workers} worker(s): all scanned in ${s.toFixed(1)} s = ${((N / s) * 60).toFixed(0)} images/min; peak RSS server ${hwm(server.child?.pid).toFixed(0)} MiB, worker(s) ${procs.map((p) => hwm(p.child?.pid).toFixed(0)).join(' / ')} MiB`,
      );
      for (const p of procs) await p.stop();
      await server.stop();
      await sql(`drop database if exists ${name}`);
    }

    // 1 GiB images pushed to a registry that notifies the server: push-to-result, and memory.
    const port = await freePort();
    const data = join(tmp, 'big-data');
    const hookToken = makeToken(['--data', data], 'webhook');
    const admin = makeToken(['--data', data], 'admin');
    const loud = new Registry(join(tmp, 'loud'), await freePort(), '', notifyCustoms(port, hookToken));
    await loud.start();
    const server = new CustomsServer(port, ['--data', data, '--db', vulndb, '--workers', '1'], {
      CUSTOMS_LOG_LEVEL: 'warn',
    });
    await server.start();
    const call = (path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      }).then((r) => r.json() as Promise<any>);
    await call('/api/v1/registries', { url: `http://${loud.host}`, insecure: true });
    const latencies: number[] = [];
    let peak = 0;
    for (let i = 0; i < 3; i++) {
      const big = join(tmp, `big${i}`);
      mkdirSync(big);
      // 1 GiB of incompressible data in 256 files over the Alpine base (its packages are found too).
      const files = Array.from({ length: 256 }, (_, j) => ({
        name: `data/blob${j}.bin`,
        content: randomBytes(4 * 1024 * 1024),
      }));
      const { manifestDigest } = ociLayout(big, { layers: [base, await makeTar(files)] });
      skopeoCopy(`oci:${big}:latest`, `docker://${loud.host}/big/app:${i}`);
      const t2 = performance.now();
      for (;;) {
        peak = Math.max(peak, scanRss());
        const r = await call(`/api/v1/images?digest=${manifestDigest}`);
        if (r.items?.[0]?.status === 'scanned') break;
        await new Promise((res) => setTimeout(res, 50));
      }
      latencies.push((performance.now() - t2) / 1000);
      rmSync(big, { recursive: true, force: true });
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `1 GiB image (incompressible data + Alpine base), 3 pushes, SQLite, 1 worker: push-to-result from push end p50 ${latencies[1].toFixed(1)} s, max ${latencies[2].toFixed(1)} s; peak RSS server ${hwm(server.child?.pid).toFixed(0)} MiB, scan process ${peak.toFixed(0)} MiB`,
    );
    await server.stop();
    await loud.stop();
  } catch (err) {
    console.error('scaleout-bench failed:', err);
    process.exitCode = 1;
  } finally {
    await reg.stop();
    // A registry still flushing can leave a file behind for a moment.
    rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}

await main();
