/**
 * Database delivery figures: the artifact built from every advisory in ../shared/data (full size,
 * publish time), the time from an empty cache to the first finished scan of an Alpine archive
 * with the registry on loopback (goal ≤ 15 s), and a day-like change set as a delta (size, apply
 * time) against the whole download.
 */
import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dockerArchive } from '../test/helpers/image-writer.js';
import { freePort, Registry } from '../test/helpers/registry.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const SHARED = join(ROOT, '../shared/data');
const ADV = join(SHARED, 'advisories');
const work = join(ROOT, '.cache/bench/db-artifact');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { out: string; seconds: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0 && r.status !== 1) throw new Error(`customs ${args.join(' ')}: ${r.stderr}`);
  return { out: r.stdout + r.stderr, seconds };
}

execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(work, 'k.pem')]);
execFileSync('openssl', ['pkey', '-in', join(work, 'k.pem'), '-pubout', '-out', join(work, 'k.pub')]);
const reg = new Registry(join(work, 'registry'), await freePort());
await reg.start();
try {
  const ref = `${reg.host}/bench/customs-db`;
  const pub = { CUSTOMS_DB: join(work, 'publisher', 'customs.db') };
  const feeds = readdirSync(ADV)
    .filter((d) => !d.startsWith('trivy') && !d.endsWith('.md'))
    .map((d) => join(ADV, d));
  const build = cli(
    ['db', 'build', ...feeds, join(SHARED, 'kev'), '--output', join(work, 'v1.tar.zst')],
    pub,
  );
  const full = Number(/\((\d+(?:\.\d+)?) MB/.exec(build.out)?.[1]);
  const p1 = cli([
    'db',
    'publish',
    join(work, 'v1.tar.zst'),
    ref,
    '--key',
    join(work, 'k.pem'),
    '--insecure',
  ]);
  const fullBytes = Number(/full (\d+) bytes/.exec(p1.out)?.[1]);

  const archive = join(work, 'alpine-3.7.3.tar');
  writeFileSync(
    archive,
    await dockerArchive({
      layers: [gunzipSync(readFileSync(join(SHARED, 'images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')))],
      tag: 'alpine:3.7.3',
    }),
  );
  const client = {
    XDG_CACHE_HOME: join(work, 'client'),
    CUSTOMS_DB: '',
    CUSTOMS_DB_REPOSITORY: ref,
    CUSTOMS_DB_TRUST_KEYS: join(work, 'k.pub'),
  };
  const first = cli(
    ['image', archive, '--insecure', '--format', 'json', '--output', join(work, 'scan.json')],
    client,
  );

  // A day-like change: 50 advisories modified, 10 withdrawn from the data, 20 new.
  const db = new Database(pub.CUSTOMS_DB);
  db.exec(`UPDATE advisories SET summary = coalesce(summary, '') || ' (updated)', modified = '2026-12-01T00:00:00Z'
           WHERE rowid IN (SELECT rowid FROM advisories WHERE source = 'osv' ORDER BY id LIMIT 50)`);
  for (const t of ['affected', 'aliases', 'advisories'])
    db.exec(
      `DELETE FROM ${t} WHERE (source, id) IN (SELECT source, id FROM advisories WHERE source = 'osv' ORDER BY id DESC LIMIT 10)`,
    );
  db.close();
  const extra = join(work, 'new');
  mkdirSync(extra);
  const go = readdirSync(join(ADV, 'go-osv')).filter((f) => f.endsWith('.json'));
  for (let i = 0; i < 20; i++) {
    const rec = JSON.parse(readFileSync(join(ADV, 'go-osv', go[i]), 'utf8'));
    writeFileSync(
      join(extra, `GO-2099-${i}.json`),
      JSON.stringify({ ...rec, id: `GO-2099-${i}`, aliases: [] }),
    );
  }
  cli(['db', 'build', extra, '--output', join(work, 'v2.tar.zst')], pub);
  const p2 = cli([
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
  const delta = Number(/delta from \S+ (\d+) bytes/.exec(p2.out)?.[1]);
  const applied = cli(['db', 'update', '--insecure'], client);
  const viaFull = cli(['db', 'update', '--insecure', '--full'], {
    ...client,
    XDG_CACHE_HOME: join(work, 'client-full'),
  });

  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const lines = [
    `database artifact (all of ../shared/data/advisories + KEV): ${full} MB SQLite, ${kib(fullBytes)} compressed; built in ${build.seconds.toFixed(1)} s, published in ${p1.seconds.toFixed(1)} s`,
    `empty cache → first finished scan of alpine 3.7.3 (pull, verify, install, scan): ${first.seconds.toFixed(2)} s (goal ≤ 15 s)`,
    `day-like change (50 modified, 10 removed, 20 new): delta ${kib(delta)} (${((delta / fullBytes) * 100).toFixed(1)} % of the full artifact), published in ${p2.seconds.toFixed(1)} s`,
    `  applied by db update in ${applied.seconds.toFixed(2)} s (${/(\d+) bytes fetched/.exec(applied.out)?.[1]} bytes fetched); the whole download instead: ${viaFull.seconds.toFixed(2)} s`,
  ];
  process.stdout.write(`\n## Database delivery\n${lines.join('\n')}\n`);
} finally {
  await reg.stop();
}
