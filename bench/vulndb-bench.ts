/**
 * Vulnerability database figures: build time and size for the shared advisory data, and the time
 * to look up 10,000 packages (a large image's inventory) by ecosystem and name.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VulnStore } from '../src/vulndb/store.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const ADV = join(ROOT, '../shared/data/advisories');
const db = join(ROOT, '.cache/bench/vulndb/customs.db');
rmSync(join(ROOT, '.cache/bench/vulndb'), { recursive: true, force: true });

const t0 = Date.now();
const r = spawnSync(
  process.execPath,
  [
    CLI,
    'db',
    'import',
    '-q',
    ...['go-osv', 'pypi-osv', 'rustsec-osv', 'almalinux-osv', 'malicious-osv', 'alpine-secdb'].map((d) =>
      join(ADV, d),
    ),
    join(ROOT, '../shared/data/kev'),
  ],
  { env: { ...process.env, CUSTOMS_DB: db }, encoding: 'utf8' },
);
if (r.status !== 0) throw new Error(r.stderr);
const buildSeconds = (Date.now() - t0) / 1000;

const store = VulnStore.openRead(db);
// Worst case: 10,000 names, every name the data knows (each with advisories), padded with unknown ones.
const known = store.db
  .prepare('SELECT DISTINCT eco_base AS eco, package_raw AS name FROM affected')
  .all() as Array<{ eco: string; name: string }>;
function lookup(byEco: Map<string, string[]>): { ms: number; hits: number; total: number } {
  let total = 0;
  for (const names of byEco.values()) total += names.length;
  const t = process.hrtime.bigint();
  let hits = 0;
  for (const [eco, names] of byEco) hits += store.affectedFor(eco, names).size;
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, hits, total };
}
function pad(byEco: Map<string, string[]>, to: number): Map<string, string[]> {
  let total = [...byEco.values()].reduce((n, l) => n + l.length, 0);
  const filler = byEco.get('PyPI') ?? [];
  byEco.set('PyPI', filler);
  for (let i = 0; total < to; i++, total++) filler.push(`not-a-package-${i}`);
  return byEco;
}
const worst = new Map<string, string[]>();
for (const k of known) worst.set(k.eco, [...(worst.get(k.eco) ?? []), k.name]);
const worstCase = lookup(pad(worst, 10_000));
// Typical large image: 10,000 packages, one in ten with advisories.
const typical = new Map<string, string[]>();
known
  .filter((_, i) => i % Math.ceil(known.length / 1000) === 0)
  .forEach((k) => typical.set(k.eco, [...(typical.get(k.eco) ?? []), k.name]));
const typicalCase = lookup(pad(typical, 10_000));
store.close();

console.log(
  `vulnerability DB from ../shared/data/advisories + KEV: built in ${buildSeconds.toFixed(1)} s, ${(statSync(db).size / 1024 / 1024).toFixed(1)} MB`,
);
console.log(
  `lookup of ${worstCase.total} packages, all ${worstCase.hits} known names with advisories (worst case): ${worstCase.ms.toFixed(0)} ms`,
);
console.log(
  `lookup of ${typicalCase.total} packages, ${typicalCase.hits} with advisories (typical large image): ${typicalCase.ms.toFixed(0)} ms`,
);
