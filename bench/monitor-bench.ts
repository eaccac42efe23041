/* eslint-disable @typescript-eslint/no-explicit-any -- API answers, not typed here */
/**
 * Continuous monitoring: 10,000 stored inventories (real Alpine package lists from the minirootfs
 * images, with real PyPI and npm package names from the shared advisories, varied), then a new
 * database version whose delta changes 100 advisories. Measured through `customs server`: from
 * POST /api/v1/db/update to an empty queue and the alerts delivered (incremental re-match), then
 * the full re-match of everything else beside it; on SQLite and, when it runs, PostgreSQL.
 */
import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Package } from '../src/catalog/model.js';
import { openDb } from '../src/store/db.js';
import { analyzeStore, inTransaction } from '../src/store/db.js';
import { recordNewImages, saveNewInventories } from '../src/store/images.js';
import { recordDeployments } from '../src/store/deployments.js';
import { matchUnscanned } from '../src/monitor/first-match.js';
import { loadavg } from 'node:os';
import { alpineOs, alpinePackageLists, syntheticImage } from '../test/helpers/alpine.js';
import { freePort, Registry } from '../test/helpers/registry.js';
import { admissionReview } from '../test/helpers/admission.js';
import { CustomsServer, makeToken } from '../test/helpers/server.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const SHARED = join(ROOT, '../shared/data');
const work = join(ROOT, '.cache/bench/monitor');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const N = Number(process.env.CUSTOMS_BENCH_INVENTORIES ?? 10_000);

function cli(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`customs ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// A deterministic generator, so runs compare.
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];

const alpines = alpinePackageLists();
const pypiNames = readdirSync(join(SHARED, 'advisories/pypi-osv/vulns')).slice(0, 2000);

function inventory(i: number) {
  const base = pick(alpines);
  const py: Package[] = Array.from({ length: 10 + Math.floor(rand() * 40) }, () => {
    const name = pick(pypiNames);
    const version = `${Math.floor(rand() * 4)}.${Math.floor(rand() * 20)}.${Math.floor(rand() * 10)}`;
    return {
      name,
      version,
      type: 'pypi',
      purl: `pkg:pypi/${name}@${version}`,
      locations: [],
    } as unknown as Package;
  });
  return {
    image: syntheticImage(i),
    os: alpineOs(base.version),
    packages: [...base.packages, ...py],
    warnings: [],
  };
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

/** The store's size on disk: the PostgreSQL database, or the SQLite file with its WAL. */
async function storeBytes(database: string | undefined, data: string): Promise<number> {
  if (database) {
    const c = new pg.Client({ connectionString: database });
    await c.connect();
    const r = await c.query('select pg_database_size(current_database()) as n');
    await c.end();
    return Number(r.rows[0].n);
  }
  const file = join(data, 'customs.sqlite');
  const sizeOf = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  return sizeOf(file) + sizeOf(`${file}-wal`);
}

/** PostgreSQL: the biggest tables with their indexes and TOAST (pg_total_relation_size), MiB. */
async function tableSizes(database: string | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!database) return out;
  const c = new pg.Client({ connectionString: database });
  await c.connect();
  const r = await c.query<{ name: string; n: string }>(
    `select relname as name, pg_total_relation_size(c.oid) as n from pg_class c
       join pg_namespace s on s.oid = c.relnamespace
      where c.relkind = 'r' and s.nspname = 'public' order by 2 desc limit 6`,
  );
  await c.end();
  for (const x of r.rows) out.set(x.name, Number(x.n) / 2 ** 20);
  return out;
}

async function run(engine: 'sqlite' | 'postgres', reg: Registry, ref: string): Promise<string[]> {
  const data = join(work, `data-${engine}`);
  let database: string | undefined;
  if (engine === 'postgres') {
    const name = `bench_s14_${process.pid}`;
    const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name}`);
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    database = `postgres://postgres@127.0.0.1:5432/${name}`;
  }
  const store = database ? ['--database', database] : ['--data', data];
  const vulndb = join(work, `server-${engine}.db`);
  // The server starts with version 1, already matched against every stored inventory.
  cli(['db', 'update', '--db-repository', `${ref}:v1`, '--insecure', '--db', vulndb], {
    CUSTOMS_DB_TRUST_KEYS: join(work, 'k.pub'),
  });
  const db = await openDb({ database, data });
  const t0 = Date.now();
  const digests: string[] = [];
  // Stored in batches, each one transaction of multi-row inserts (the store's bulk seeding path);
  // the inventories are generated in order, so the fleet is the same whatever the batch size.
  const BATCH = 2000;
  for (let i = 0; i < N; i += BATCH) {
    const items: Array<{ digest: string; inventory: ReturnType<typeof inventory>; j: number }> = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) {
      digests.push(`sha256:${(BigInt(j) + 1n).toString(16).padStart(64, '0')}`);
      items.push({ digest: digests[j], inventory: inventory(j), j });
    }
    await inTransaction(db, async (tx) => {
      await saveNewInventories(tx, items);
      await recordNewImages(
        tx,
        items.map((x) => ({
          registry: 'registry.local',
          repository: `team/app${x.j % 500}`,
          digest: x.digest,
        })),
      );
      await recordDeployments(
        tx,
        items
          .filter((x) => x.j % 10 === 0)
          .map((x) => ({
            environment: 'production',
            registry: 'registry.local',
            repository: `team/app${x.j}`,
            digest: x.digest,
            source: 'bench',
          })),
      );
    });
    // At 100,000 the run takes long on a shared machine: say how far it is.
    if (Math.floor((i + BATCH) / 10000) > Math.floor(i / 10000))
      process.stderr.write(
        `${engine}: ${Math.min(N, i + BATCH)} stored in ${((Date.now() - t0) / 1000).toFixed(0)} s (load ${load()})\n`,
      );
  }
  const storeSeconds = (Date.now() - t0) / 1000;
  // Storage per image: the inventories and their indexes, before any result.
  const storedBytes = await storeBytes(database, data);
  const storedTables = await tableSizes(database);
  // Every stored inventory first gets its result at version 1, as the scans that stored them would
  // have left it (the update below then re-matches against real previous results): matched in
  // bulk, a chunk a transaction, by the path a match job takes per image.
  const tm = Date.now();
  const first = await matchUnscanned({
    db,
    dbPath: vulndb,
    digests,
    source: 'bench',
    progress: (n) => {
      if (n % 10000 === 0 || n === N)
        process.stderr.write(
          `${engine}: ${n} matched at version 1 in ${((Date.now() - tm) / 1000).toFixed(0)} s (load ${load()})\n`,
        );
    },
  });
  if (first.skipped.length) throw new Error(`${first.skipped.length} inventories not matched in bulk`);
  const seeded = (Date.now() - tm) / 1000;
  // The planner's statistics, as autovacuum would have kept them while a store grew (this machine's
  // PostgreSQL runs without it): without them it plans the pages' joins as over empty tables.
  await analyzeStore(db);
  await db.close();

  const hooks: number[] = [];
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hooks.push(Date.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const server = new CustomsServer(
    port,
    [
      ...store,
      '--db',
      vulndb,
      '--workers',
      '2',
      '--db-repository',
      ref,
      '--db-insecure',
      '--db-trust-key',
      join(work, 'k.pub'),
      '--db-update-interval',
      '0',
    ],
    { CUSTOMS_LOG_LEVEL: process.env.CUSTOMS_BENCH_LOG ?? 'warn' },
  );
  // At start the server indexes what was seeded: on a loaded machine longer than the helper waits.
  await server.start(600_000);
  const token = makeToken(store, 'admin');
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await r.text();
        // An error answer says so here, not as a missing field further on.
        if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
        return JSON.parse(text);
      } catch (err) {
        if (/: \d{3} /.test((err as Error).message)) throw err;
        // A busy server may drop an idle kept-alive connection: once more on a new one.
        if (attempt >= 2)
          throw new Error(`${method} ${path}: ${(err as Error).message}\n${server.log.slice(-3000)}`);
      }
    }
  };
  const drained = async () => {
    let said = Date.now();
    for (;;) {
      const j = await call('GET', '/api/v1/jobs');
      if (j.queued === 0 && j.active === 0) return;
      if (Date.now() - said > 30_000) {
        said = Date.now();
        process.stderr.write(`${engine}: ${j.queued} jobs queued, ${j.active} active\n`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await call('POST', '/api/v1/channels', {
      type: 'webhook',
      url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`,
    });
    const t1 = Date.now();
    const u = await call('POST', '/api/v1/db/update');
    await drained();
    const matched = (Date.now() - t1) / 1000;
    // Each figure as soon as it is measured: a long run cut short keeps what it had.
    process.stderr.write(
      `${engine}: ${u.rescans} of ${N} re-matched after the update in ${matched.toFixed(1)} s (load ${load()})\n`,
    );
    // Alerts: every one the re-match raised, delivered.
    for (;;) {
      const a = await call('GET', '/api/v1/alerts');
      if (a.every((x: any) => x.state !== 'pending')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const incremental = (Date.now() - t1) / 1000;
    // The full re-match, for comparison: the inventories the change did not touch, counted in the
    // store as their scans with the new version land, for a minute at most, then extrapolated.
    const reader = await openDb({ database, data });
    const scansAtNewVersion = async () =>
      Number(
        (
          await reader.k
            .selectFrom('scans')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('db_version', '=', u.version)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await scansAtNewVersion();
    const t2 = Date.now();
    // CUSTOMS_BENCH_FULL_REMATCH=0 leaves it out: at 100,000 the queued re-match would still run
    // while the pages and admission below are measured.
    const fullRematch = process.env.CUSTOMS_BENCH_FULL_REMATCH !== '0';
    if (fullRematch) await call('POST', '/api/v1/rescans', { all: true });
    let done = 0;
    while (fullRematch && Date.now() - t2 < 60_000) {
      done = (await scansAtNewVersion()) - before;
      if (done >= N - before) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const full = (Date.now() - t2) / 1000;
    // Issue 30's service figures at this size: the pages the dashboard opens, admission of
    // deployed digests (decisions from stored results, half of them repeated), storage.
    const pages: string[] = [];
    for (const path of [
      '/api/v1/overview',
      '/api/v1/environments/production',
      '/api/v1/environments',
      '/api/v1/images?limit=50',
    ]) {
      const times: number[] = [];
      for (let i = 0; i < 45; i++) {
        const s0 = performance.now();
        await call('GET', path);
        if (i >= 5) times.push(performance.now() - s0);
      }
      pages.push(`${path} p50 ${pct(times, 50).toFixed(0)} ms, p95 ${pct(times, 95).toFixed(0)} ms`);
      process.stderr.write(`${engine}: ${pages.at(-1)} (load ${load()})\n`);
    }
    const hook = makeToken(store, 'admission');
    const admission: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const k = (i % 1000) * 10 < N ? (i % 1000) * 10 : 0;
      const body = admissionReview([`registry.local/team/app${k}@${digests[k]}`], { dryRun: true });
      const s0 = performance.now();
      const r = await fetch(`${server.url}/admission/validate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hook}`, 'content-type': 'application/json' },
        body,
      });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`admission answered ${r.status}`);
      admission.push(performance.now() - s0);
    }
    const size = await storeBytes(database, data);
    const tables = await tableSizes(database);
    await reader.close();
    // With CUSTOMS_BENCH_LOG=info, the server's own account of the pass (its phases' times).
    const fleetLine = /.*fleet re-matched.*/.exec(server.log)?.[0];
    return [
      ...(fleetLine ? [`  ${fleetLine}`] : []),
      `${engine}: ${N} inventories stored in ${storeSeconds.toFixed(1)} s, matched at version 1 in ${seeded.toFixed(1)} s`,
      `  a 100-advisory change (${u.mode}, ${u.bytes} bytes): ${u.changedPackages} packages touched, ${u.rescans} of ${N} inventories re-matched in ${matched.toFixed(1)} s; ${hooks.length} alerts delivered by ${incremental.toFixed(1)} s (goal ≤ 10 s)`,
      fullRematch
        ? `  full re-match for comparison: ${done} of the other ${N - before} in ${full.toFixed(1)} s, ${(done / full).toFixed(0)}/s: ${(N / Math.max(1, done / full)).toFixed(0)} s for all ${N}`
        : '  full re-match for comparison: not run (CUSTOMS_BENCH_FULL_REMATCH=0)',
      `  pages (goal p95 ≤ 300 ms): ${pages.join('; ')}`,
      `  admission of deployed digests, 2000 reviews over 1000 digests (goal p99 ≤ 20 ms): p50 ${pct(admission, 50).toFixed(1)} ms, p99 ${pct(admission, 99).toFixed(1)} ms, max ${Math.max(...admission).toFixed(1)} ms`,
      ...(tables.size
        ? [
            `  largest tables (pg_total_relation_size, after storing → after the update and re-matches): ${[
              ...tables,
            ]
              .map(([t, mb]) => `${t} ${(storedTables.get(t) ?? 0).toFixed(0)} → ${mb.toFixed(0)} MiB`)
              .join(', ')}`,
          ]
        : []),
      `  storage: ${(storedBytes / 2 ** 20).toFixed(0)} MiB after storing (${(storedBytes / N / 1024).toFixed(1)} KiB per image); ${(size / 2 ** 20).toFixed(0)} MiB after the update and two re-matches (${((size - storedBytes) / 2 ** 20).toFixed(0)} MiB more: results and finding sets of two database versions, ${((size - storedBytes) / N / 2 / 1024).toFixed(1)} KiB per image per version)`,
    ];
  } finally {
    await server.stop();
    receiver.close();
    // CUSTOMS_BENCH_KEEP_DB=1 keeps the PostgreSQL database, to look into afterwards.
    if (database && process.env.CUSTOMS_BENCH_KEEP_DB !== '1') {
      const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await c.connect();
      // FORCE: a reader left open by a failure must not turn that failure into this one.
      await c
        .query(`DROP DATABASE IF EXISTS ${database.split('/').pop()} WITH (FORCE)`)
        .catch((err: Error) => process.stderr.write(`database not dropped: ${err.message}\n`));
      await c.end();
    }
  }
}

const reg = new Registry(join(work, 'registry'), await freePort());
await reg.start();
try {
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(work, 'k.pem')]);
  execFileSync('openssl', ['pkey', '-in', join(work, 'k.pem'), '-pubout', '-out', join(work, 'k.pub')]);
  const ref = `${reg.host}/bench/customs-db`;
  const pub = join(work, 'publisher.db');
  cli(
    [
      'db',
      'build',
      join(SHARED, 'advisories/alpine-secdb'),
      join(SHARED, 'advisories/pypi-osv'),
      join(SHARED, 'kev'),
      '--output',
      join(work, 'v1.tar.zst'),
    ],
    { CUSTOMS_DB: pub },
  );
  cli(['db', 'publish', join(work, 'v1.tar.zst'), `${ref}:v1`, '--key', join(work, 'k.pem'), '--insecure']);
  cli(['db', 'publish', join(work, 'v1.tar.zst'), ref, '--key', join(work, 'k.pem'), '--insecure']);
  // Version 2: 100 advisories change (a fixed version moves on, as upstream corrections do).
  const d = new Database(pub);
  // A spread of advisories over the whole database (a deterministic shuffle by the id's tail), the
  // way a day's upstream corrections fall: most touch packages the fleet does not have.
  const ids = d
    .prepare(
      "SELECT DISTINCT source, id FROM affected WHERE ranges LIKE '%fixed%' ORDER BY substr(id, -3), id LIMIT 100",
    )
    .all() as Array<{ source: string; id: string }>;
  const bump = d.prepare(
    'UPDATE affected SET ranges = replace(ranges, \'"fixed":"\', \'"fixed":"99.\') WHERE source = ? AND id = ?',
  );
  for (const r of ids) bump.run(r.source, r.id);
  d.close();
  // A rebuild stamps the new version; importing nothing but the KEV catalog again changes nothing else.
  cli(['db', 'build', join(SHARED, 'kev'), '--output', join(work, 'v2.tar.zst')], { CUSTOMS_DB: pub });
  cli([
    'db',
    'publish',
    join(work, 'v2.tar.zst'),
    ref,
    '--key',
    join(work, 'k.pem'),
    '--insecure',
    '--previous',
    join(work, 'v1.tar.zst'),
  ]);
  // CUSTOMS_BENCH_ENGINES=postgres (or sqlite) runs one store only.
  const engines = (process.env.CUSTOMS_BENCH_ENGINES ?? 'sqlite,postgres').split(',');
  const lines = engines.includes('sqlite') ? [...(await run('sqlite', reg, ref))] : [];
  const pgUp = spawnSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']).status === 0;
  if (!engines.includes('postgres')) lines.push('postgres: not asked for');
  else if (pgUp) lines.push(...(await run('postgres', reg, ref)));
  else lines.push('postgres: not running here; skipped');
  process.stdout.write(`\n## Continuous monitoring\n${lines.join('\n')}\n`);
} finally {
  await reg.stop();
}
