import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeVerdict } from '../../src/vulndb/importers/nodejs.js';
import { scanFormats } from '../../src/report/scan-formats.js';
import type { ScanResult } from '../../src/model/scan.js';
import * as hostile from '../fuzz/hostile-inputs.js';
import { CLI, shared } from '../helpers/paths.js';
import { customs, customsPeak, TEST_ENV } from '../helpers/run.js';

/*
 * The third hostile-input round (issue 33): inputs whose cost grew with what they named, not with
 * their size. Each is made here by a small generator (test/fuzz/hostile-inputs.ts) and scanned by
 * the built CLI, which must answer within 90 s and 1 GiB of resident memory with exit 0 (as for any
 * other unreadable file), a warning naming the file, and the rest of the tree still inventoried.
 *
 * Memory is measured, not capped: V8 and WebAssembly reserve far more address space than they
 * use (a `prlimit --as` of 4 GiB stops the CLI before it starts), so the peak resident set comes
 * from GNU time's getrusage figure (exact), else from sampling /proc.
 */
const MAX_SECONDS = 90;
const MAX_RSS_MIB = 1024;
const FIXTURES = join(import.meta.dirname, '../../../test/fixtures');

let tmp: string;

function write(dir: string, tree: hostile.Tree): string {
  for (const [p, content] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

interface Bounded {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  rssMiB: number;
}

const TIME = '/usr/bin/time';

/** The CLI under a 90 s timeout, with its peak resident memory. */
async function bounded(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Bounded> {
  const t0 = Date.now();
  if (!existsSync(TIME)) {
    const r = await customsPeak(args, { env });
    return { ...r, seconds: (Date.now() - t0) / 1000, rssMiB: r.peakMiB };
  }
  const r = spawnSync(TIME, ['-f', 'customs-maxrss-kb %M', process.execPath, CLI, ...args], {
    encoding: 'utf8',
    env: { ...TEST_ENV, ...process.env, ...env },
    timeout: MAX_SECONDS * 1000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const m = /customs-maxrss-kb (\d+)\s*$/.exec(r.stderr);
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: m ? r.stderr.slice(0, m.index) : r.stderr,
    seconds: (Date.now() - t0) / 1000,
    rssMiB: m ? Math.round(Number(m[1]) / 1024) : Infinity,
  };
}

interface Report {
  packages: Array<{ name: string; version: string; locations: Array<{ path: string }> }>;
  findings: Array<{
    id: string;
    package: { name: string; version: string; path?: string };
    fixedVersion?: string;
  }>;
  secrets?: Array<{ rule: string; path: string }>;
  secretCoverage?: {
    notSearched: { size: number; binary: number };
    files: Array<{ path: string; reason: string }>;
  };
  warnings: string[];
}

/** Within the bounds, exit 0, no crash; the JSON report. */
function judged(r: Bounded, what: string): Report {
  assert.ok(r.seconds <= MAX_SECONDS, `${what}: ${r.seconds} s`);
  assert.ok(r.rssMiB <= MAX_RSS_MIB, `${what}: ${r.rssMiB} MiB resident`);
  assert.equal(r.status, 0, `${what}: exit ${r.status}: ${r.stderr.slice(0, 2000)}`);
  assert.doesNotMatch(r.stderr, /internal error|RangeError|out of memory/i);
  // No report field carries an attacker-sized string.
  assert.ok(r.stdout.length < 16 * 1024 * 1024, `${what}: a ${r.stdout.length}-byte report`);
  process.stdout.write(`# ${what}: ${r.seconds.toFixed(1)} s, ${r.rssMiB} MiB\n`);
  return JSON.parse(r.stdout) as Report;
}

const has = (r: Report, name: string, version: string, path?: string) =>
  r.packages.some(
    (p) => p.name === name && p.version === version && (!path || p.locations.some((l) => l.path === path)),
  );

describe('hostile input, round three: bounded in time and memory', { timeout: 600_000 }, () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-cost-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('pom.xml: properties fanning out, doubling, megabyte versions, entity versions, a parent naming itself', async () => {
    const dir = write(join(tmp, 'poms'), {
      'fan/pom.xml': hostile.pomFanOut(),
      'dbl/pom.xml': hostile.pomSelfDoubling(),
      'big/pom.xml': hostile.pomBigVersion(),
      'ent/pom.xml': hostile.pomEntityVersion(),
      'self/pom.xml': hostile.pomSelfParent(),
    });
    const r = judged(await bounded(['fs', dir, '--scanners', 'secret', '--format', 'json', '-q']), 'poms');
    for (const d of ['fan', 'dbl', 'big', 'ent', 'self'])
      assert.ok(has(r, 'org.example:ordinary', '1.2.3', `/${d}/pom.xml`), `${d}: the ordinary dependency`);
    for (const d of ['fan', 'dbl', 'big'])
      assert.ok(
        r.warnings.some((w) => w.startsWith(`/${d}/pom.xml: `) && /expands past 4096 bytes/.test(w)),
        `${d}: ${r.warnings.join('\n')}`,
      );
    assert.ok(r.warnings.some((w) => /^\/ent\/pom\.xml: not Maven coordinates or versions.*&lol9;/.test(w)));
    assert.ok(r.packages.every((p) => !p.version.includes('&') && p.version.length < 64));
    // The parent naming itself: one warning of the cycle, the unpinned dependency named once.
    const self = r.warnings.filter((w) => w.startsWith('/self/pom.xml'));
    assert.equal(self.filter((w) => /a cycle/.test(w)).length, 1, self.join('\n'));
    assert.equal(self.join('\n').split('evil:unpinned').length - 1, 1, self.join('\n'));
    // A long list of unresolved dependencies is cut, not copied whole.
    assert.ok(r.warnings.every((w) => w.length < 4096));
  });

  it('pom.xml: thousands of managed entries beside forty imported BOMs', async () => {
    const dir = write(join(tmp, 'boms'), hostile.treeManyBoms(5_000, 20, 2_500));
    const r = judged(
      await bounded(['fs', dir, '--scanners', 'secret', '--format', 'json', '-q'], {
        CUSTOMS_MAVEN_REPO: join(tmp, 'none'),
      }),
      '5k managed + 20 BOMs x 2,500',
    );
    assert.ok(has(r, 'own:m7', '1.7'));
    assert.ok(has(r, 'bom19:m2499', '19.2499'));
    assert.ok(has(r, 'org.example:ordinary', '1.2.3'));
  });

  it('pom.xml: a thousand modules sharing one parent and one BOM', async () => {
    const dir = write(join(tmp, 'modules'), hostile.treeManyModules(1_000, 5_000));
    const r = judged(
      await bounded(['fs', dir, '--scanners', 'secret', '--format', 'json', '-q'], {
        CUSTOMS_MAVEN_REPO: join(tmp, 'none'),
      }),
      '1,000 modules, one parent, one BOM of 5,000',
    );
    assert.ok(has(r, 'bom:m999', '2.999', '/m999/pom.xml'));
    // Inherited by every module, listed once with every place.
    const ordinary = r.packages.find((p) => p.name === 'org.example:ordinary');
    assert.equal(ordinary?.locations.length, 1_001);
  });

  it('pom.xml: two hundred BOMs sharing a chain of nine 4 MiB parents; twelve dense 4 MiB poms', async () => {
    // Each pom under the per-file cap, together 84 MB: once over 90 s and 1.2 GB with twenty BOMs,
    // and 96 s for the dense poms, when the scan's budget was checked only between poms.
    const dir = write(join(tmp, 'fan-out'), {
      ...hostile.treeBomFanOut(),
      ...hostile.treeDensePoms(),
      'memo/pom.xml': hostile.pomManyExpansions(20_000),
    });
    const r = judged(
      await bounded(['fs', dir, '--scanners', 'secret', '--format', 'json', '-q'], {
        CUSTOMS_MAVEN_REPO: join(tmp, 'none'),
      }),
      '200 BOMs on 9 dense parents, 12 dense poms',
    );
    assert.ok(
      r.warnings.some((w) => /more than a scan allows .*bytes of poms parsed.*left out or cut short/.test(w)),
      r.warnings.join('\n'),
    );
  });

  it('pom.xml: 3,000 local Maven repositories in the tree, 3,000 parents found in none', async () => {
    // Each parent was looked up in each repository: 1,000 of each took 12.9 s, 5,000 past 90 s.
    const dir = write(join(tmp, 'repositories'), hostile.treeManyRepositories(3_000));
    const r = judged(
      await bounded(['fs', dir, '--scanners', 'secret', '--format', 'json', '-q'], {
        CUSTOMS_MAVEN_REPO: join(tmp, 'none'),
      }),
      '3,000 repositories, 3,000 parents',
    );
    assert.equal(r.packages.find((p) => p.name === 'org.example:ordinary')?.locations.length, 3_000);
  });

  it('a Go binary naming 10,000 modules and 100,000 functions', async () => {
    const dir = join(tmp, 'go');
    // And one name of four million unclosed `[` (stripping type parameters was quadratic: hours).
    write(dir, { 'usr/bin/app': hostile.goManyModules(10_000, 100_000, [hostile.goBracketName()]) });
    chmodSync(join(dir, 'usr/bin/app'), 0o755);
    const r = judged(await bounded(['fs', dir, '--scanners', 'secret', '--format', 'json', '-q']), 'Go');
    assert.ok(has(r, 'e.co/0', 'v1.0.0', '/usr/bin/app'));
    assert.ok(r.packages.filter((p) => p.name.startsWith('e.co/')).length >= 10_000);
  });

  it('node binaries with versions no release has: not inventoried, not matched', async () => {
    const root = join(tmp, 'node-root');
    mkdirSync(root);
    spawnSync('tar', ['xzf', shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz'), '-C', root]);
    hostile.NODE_VERSIONS.forEach((v, i) => write(root, { [`opt/n${i}/bin/node`]: hostile.nodeBinary(v) }));
    write(root, { 'usr/local/bin/node': hostile.nodeBinary('18.12.1') });
    const env = { CUSTOMS_DB: join(tmp, 'node.db') };
    for (const feed of [join(FIXTURES, 'nvd/nvdcve-2.0-sample.json'), join(FIXTURES, 'nodejs')])
      assert.equal(customs(['db', 'import', feed, '-q'], { env }).status, 0);
    const r = judged(await bounded(['rootfs', root, '--format', 'json', '-q'], env), 'node versions');
    const nodes = r.packages.filter((p) => p.name === 'node');
    assert.deepEqual(
      nodes.map((p) => `${p.version} ${p.locations[0].path}`),
      ['18.12.1 /usr/local/bin/node'],
    );
    assert.ok(
      r.findings.filter((f) => f.package.name === 'node').every((f) => f.package.version === '18.12.1'),
    );
    // Checked, not coerced: no 0.0.0 flagged by an old advisory, no 18.0.0 with a lower "fix".
    assert.deepEqual(nodeVerdict('99999999999999999999.0.0', { vulnerable: '<4.0.0' }), { affected: false });
    assert.deepEqual(nodeVerdict(`18.${'9'.repeat(20)}.1`, { vulnerable: '18.x', patched: '>=18.14.1' }), {
      affected: false,
    });
    assert.deepEqual(nodeVerdict('v18.12.1', { vulnerable: '18.x', patched: '>=18.14.1' }), {
      affected: true,
      fixedVersion: '18.14.1',
    });
  });

  it('a PECL registry entry naming a 200 MB package; a 500 MB registry entry', async () => {
    const dir = join(tmp, 'pecl');
    const reg = 'usr/local/lib/php/.registry/.channel.pecl.php.net';
    write(dir, { [`${reg}/evil.reg`]: hostile.peclHugeName(), [`${reg}/sparse.reg`]: 'a:0:{}' });
    // Sparse: refused by its size before it is read (it once cost 600 MB resident to refuse).
    truncateSync(join(dir, reg, 'sparse.reg'), 500 * 1024 * 1024);
    copyFileSync(
      shared('fixtures', 'packagist/syft-php/memcached-v6-format.reg'),
      join(dir, reg, 'memcached.reg'),
    );
    const bounds = await bounded(['fs', dir, '--scanners', 'secret', '--format', 'json', '-q']);
    const r = judged(bounds, 'PECL 200 MB, 500 MB');
    assert.ok(bounds.rssMiB < 400, `${bounds.rssMiB} MiB`);
    assert.ok(r.packages.some((p) => p.name === 'memcached'));
    assert.ok(r.packages.every((p) => p.name.length < 256));
    // Both are over the 64 MiB read limit for files parsed whole: refused before they are read.
    for (const f of ['evil', 'sparse'])
      assert.ok(
        r.warnings.some((w) =>
          new RegExp(`${f}\\.reg: \\d+ bytes is larger than the 67108864-byte read limit; skipped`).test(w),
        ),
        r.warnings.join('\n'),
      );
  });

  it('a lockfile over the read limit: neither kept nor probed, still counted as not searched for secrets', async () => {
    // Sparse: 600 MB on paper, a few bytes on disk. Wanted by a cataloger, so no probe reads it,
    // and over the 64 MiB read limit, so it is not kept either: once missing from secretCoverage.
    const dir = write(join(tmp, 'over-read-limit'), {
      'app/package-lock.json': hostile.bigFileWithKey(4096),
    });
    truncateSync(join(dir, 'app/package-lock.json'), 600 * 1024 * 1024);
    const r = judged(
      await bounded(['fs', dir, '--format', 'json', '-q', '--scanners', 'secret']),
      'a 600 MB lockfile',
    );
    assert.equal(r.secretCoverage!.notSearched.size, 1);
    assert.deepEqual(
      r.secretCoverage!.files.map((f) => f.path),
      ['/app/package-lock.json'],
    );
    assert.ok(
      r.warnings.some((w) => /not searched for secrets: \/app\/package-lock\.json \(600 MiB\)/.test(w)),
    );
  });

  it('a secret in a file over the size limit: counted, named in a warning; found with a larger limit', async () => {
    const dir = write(join(tmp, 'secrets'), {
      'dump/data.sql': hostile.bigFileWithKey(),
      'app/.env': 'aws_access_key_id = AKIAZ3MSJV4WWNKWW5FG\n',
      // Kept whole for the pom cataloger: searched all the same.
      'pom.xml':
        '<project><!-- aws_access_key_id = AKIAZ3MSJV4WWNKWW5FG --><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId><version>1</version></dependency></dependencies></project>',
    });
    const r = judged(
      await bounded(['fs', dir, '--format', 'json', '-q', '--scanners', 'secret']),
      '6 MB secret',
    );
    assert.deepEqual([...new Set(r.secrets!.map((s) => s.path))].sort(), ['/app/.env', '/pom.xml']);
    assert.equal(r.secretCoverage!.notSearched.size, 1);
    assert.deepEqual(
      r.secretCoverage!.files.filter((f) => f.reason === 'size').map((f) => f.path),
      ['/dump/data.sql'],
    );
    assert.ok(r.warnings.some((w) => /\/dump\/data\.sql \(6\.0 MiB\).*--secret-max-file-size/.test(w)));
    assert.ok(has(r, 'g:a', '1'));
    // Every format that shows secrets names the file not searched.
    for (const f of ['table', 'json', 'sarif', 'html'])
      assert.match(scanFormats[f](r as unknown as ScanResult, false), /\/dump\/data\.sql/, f);
    const table = customs(['fs', dir, '--scanners', 'secret', '-q']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /WARNING: 1 file over the 5\.0 MiB secret search limit .*\/dump\/data\.sql/);
    const wide = judged(
      await bounded([
        'fs',
        dir,
        '--format',
        'json',
        '-q',
        '--scanners',
        'secret',
        '--secret-max-file-size',
        '8M',
      ]),
      '6 MB secret, 8M limit',
    );
    assert.ok(wide.secrets!.some((s) => s.path === '/dump/data.sql'));
    assert.equal(wide.secretCoverage!.notSearched.size, 0);
    const bad = customs(['fs', dir, '--secret-max-file-size', 'lots']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--secret-max-file-size: not a size/);
  });
});
