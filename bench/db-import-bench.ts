/**
 * `customs db import` under GNU time: wall time and peak resident memory of importing every real
 * feed in ../shared/data/advisories (with KEV), and of one NVD year whose single CVE carries
 * 200,000 cpeMatch entries (quadratic before: 50,000 took 21 s, 200,000 did not end in 90 s).
 * Both must stay under 512 MiB (docs/vulndb.md, "Bounds").
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fmt, measure } from './measure.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const SHARED = join(ROOT, '../shared/data');
const work = join(ROOT, '.cache/bench/db-import');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const real = measure(
  [process.execPath, CLI, 'db', 'import', '-q', join(SHARED, 'advisories'), join(SHARED, 'kev')],
  {
    CUSTOMS_DB: join(work, 'real.db'),
  },
);

const cpeMatch = Array.from({ length: 200_000 }, (_, i) => ({
  vulnerable: true,
  criteria: 'cpe:2.3:a:nodejs:node.js:*:*:*:*:*:*:*:*',
  versionStartIncluding: `${i % 40}.0.0`,
  versionEndExcluding: `${i % 40}.${(i % 97) + 1}.0`,
  matchCriteriaId: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
}));
const year = join(work, 'nvdcve-2.0-2097.json');
writeFileSync(
  year,
  JSON.stringify({
    format: 'NVD_CVE',
    version: '2.0',
    vulnerabilities: [
      { cve: { id: 'CVE-2097-0001', configurations: [{ nodes: [{ operator: 'OR', cpeMatch }] }] } },
    ],
  }),
);
const wide = measure([process.execPath, CLI, 'db', 'import', '-q', year], {
  CUSTOMS_DB: join(work, 'wide.db'),
});

console.log(`db import, all of ../shared/data/advisories + KEV: ${fmt(real)}`);
console.log(`db import, one CVE with 200,000 cpeMatch entries: ${fmt(wide)}`);
rmSync(work, { recursive: true, force: true });
if (!real.ok || !wide.ok) process.exitCode = 1;
