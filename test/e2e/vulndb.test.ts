import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { gzipSync } from 'node:zlib';
import { importPath } from '../../src/vulndb/import.js';
import { VulnStore } from '../../src/vulndb/store.js';
import { CLI, shared } from '../helpers/paths.js';
import { customs, customsPeak } from '../helpers/run.js';
import { schemaErrors2020 } from '../helpers/schemas.js';

const adv = (...p: string[]) => shared('advisories', ...p);
let tmp: string;
let dbFile: string;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-vulndb-'));
  dbFile = join(tmp, 'customs.db');
  const r = customs(
    [
      'db',
      'import',
      adv('go-osv'),
      adv('pypi-osv'),
      adv('alpine-secdb'),
      shared('kev'),
      adv('rustsec-osv'),
      '--quiet',
    ],
    { env: { CUSTOMS_DB: dbFile } },
  );
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function countFiles(dir: string, re: RegExp): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += countFiles(join(dir, e.name), re);
    else if (re.test(e.name)) n++;
  }
  return n;
}

describe('importing the real advisory data', () => {
  it('counts per source are right', () => {
    const store = VulnStore.openRead(dbFile);
    try {
      const src = Object.fromEntries(store.sources().map((s) => [s.name, s.records]));
      assert.equal(src['osv:Go'], countFiles(adv('go-osv'), /^GO-.*\.json$/));
      // Records are advisories with an affected package of that ecosystem: a withdrawn one with no
      // affected list (PYSEC-2022-15) matches nothing and is not counted.
      assert.equal(src['osv:PyPI'], countFiles(adv('pypi-osv'), /\.yaml$/) - 1);
      assert.equal(src['osv:crates.io'], countFiles(adv('rustsec-osv'), /^RUSTSEC-.*\.json$/));
      // Alpine: every (branch, package, fixed version, CVE) entry of every secdb file.
      let secfixes = 0;
      for (const branch of readdirSync(adv('alpine-secdb')).filter((d) => d.startsWith('v'))) {
        for (const f of readdirSync(adv('alpine-secdb', branch))) {
          const doc = YAML.parse(readFileSync(adv('alpine-secdb', branch, f), 'utf8'));
          for (const p of doc.packages ?? []) {
            for (const ids of Object.values(p.pkg.secfixes ?? {})) {
              for (const i of (ids as unknown[]) ?? [])
                secfixes += typeof i === 'string' ? (i.match(/(CVE|XSA)[-_ ][0-9]{2,4}/g) ?? []).length : 0;
            }
          }
        }
      }
      assert.equal(src['alpine-secdb'], secfixes);
      const kev = JSON.parse(readFileSync(shared('kev/known_exploited_vulnerabilities.json'), 'utf8'));
      assert.equal(src.kev, kev.vulnerabilities.length);
      assert.equal(store.tableCount('kev'), kev.count);
    } finally {
      store.close();
    }
  });

  it('GO-2021-0113 reads back exactly: ranges, aliases, summary', () => {
    const store = VulnStore.openRead(dbFile);
    const original = JSON.parse(readFileSync(adv('go-osv', 'GO-2021-0113.json'), 'utf8'));
    const [a] = store.advisories('CVE-2021-38561');
    assert.equal(a.id, 'GO-2021-0113');
    assert.deepEqual(a.aliases, [...original.aliases].sort());
    assert.equal(a.summary, original.summary);
    assert.deepEqual(
      a.affected.map((r) => ({ name: r.packageRaw, ranges: r.ranges })),
      original.affected.map((x: { package: { name: string }; ranges: unknown }) => ({
        name: x.package.name,
        ranges: x.ranges,
      })),
    );
    store.close();
  });

  it('a PyPI YAML advisory keeps its version list, severity and PEP 503 name', () => {
    const store = VulnStore.openRead(dbFile);
    const [a] = store.advisories('PYSEC-2020-342');
    assert.deepEqual(a.severity, [
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
    ]);
    assert.equal(a.affected[0].versions?.length, 10);
    assert.ok(
      store
        .affectedFor('PyPI', ['Apache_Skywalking'])
        .get('Apache_Skywalking')
        ?.some((r) => r.id === 'PYSEC-2020-342'),
    );
    store.close();
  });

  it('Alpine secdb: musl CVE-2019-14697 fixed per branch, "0" means not affected', () => {
    const store = VulnStore.openRead(dbFile);
    const rows = store.advisories('CVE-2019-14697')[0].affected;
    const v310 = rows.find((r) => r.ecosystem === 'Alpine:v3.10' && r.package === 'musl')!;
    assert.deepEqual(v310.ranges, [
      { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.1.22-r3' }] },
    ]);
    store.close();
  });

  it('KEV: Log4Shell is known exploited with its due date', () => {
    const r = customs(['db', 'show', 'CVE-2021-44228', '--json'], { env: { CUSTOMS_DB: dbFile } });
    assert.equal(r.status, 0, r.stderr);
    const kev = JSON.parse(r.stdout).enrichment[0].kev;
    assert.equal(kev.dueDate, '2021-12-24');
  });

  it('db status lists every source with counts', () => {
    const r = customs(['db', 'status'], { env: { CUSTOMS_DB: dbFile } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /osv:Go\s+\d+/);
    assert.match(r.stdout, /alpine-secdb Alpine\s+\d+ advisories/);
  });

  it('every OSV record imported validates against the official schema, or is known not to', () => {
    // The importer does not need the schema (it checks what it uses); this shows how the data stands.
    const bad = [];
    for (const f of readdirSync(adv('go-osv')).slice(0, 500)) {
      const errs = schemaErrors2020('osv', JSON.parse(readFileSync(adv('go-osv', f), 'utf8')));
      if (errs.length) bad.push(f);
    }
    assert.deepEqual(bad, []);
  });
});

describe('bad input is skipped with a counted warning, never a crash', () => {
  it('malformed JSON/YAML, unknown ecosystem, absurd versions, bad ids', async () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'broken.json'), '{"id": "GO-1", "affected": [');
    writeFileSync(join(dir, 'broken.yaml'), 'id: [unclosed\n  - x: : :');
    writeFileSync(
      join(dir, 'unknown-eco.json'),
      JSON.stringify({
        id: 'X-1',
        modified: '2024-01-01T00:00:00Z',
        affected: [
          {
            package: { ecosystem: 'Nonsense', name: 'x' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          },
        ],
      }),
    );
    writeFileSync(
      join(dir, 'absurd.json'),
      JSON.stringify({
        id: 'X-2',
        modified: '2024-01-01T00:00:00Z',
        affected: [
          {
            package: { ecosystem: 'npm', name: 'x' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '9'.repeat(5000) }] }],
          },
        ],
      }),
    );
    writeFileSync(
      join(dir, 'bad-id.json'),
      JSON.stringify({ id: '../../etc/passwd', modified: '2024-01-01T00:00:00Z', affected: [] }),
    );
    writeFileSync(
      join(dir, 'good.json'),
      JSON.stringify({
        id: 'X-3',
        modified: '2024-01-01T00:00:00Z',
        aliases: ['CVE-2099-0001'],
        affected: [
          {
            package: { ecosystem: 'npm', name: 'left-pad' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }],
          },
        ],
      }),
    );
    writeFileSync(join(dir, 'notes.json'), JSON.stringify({ hello: 'world' }));
    const file = join(tmp, 'bad.db');
    const report = await VulnStore.update(file, (w) => importPath(w, dir));
    assert.deepEqual(report.malformed.sort(), ['broken.json', 'broken.yaml']);
    assert.deepEqual(report.unrecognised, ['notes.json']);
    const npm = report.sources.get('osv:npm')!;
    assert.equal(npm.records, 1, 'good.json');
    assert.equal(
      npm.skipped,
      1,
      'absurd.json: its only range has an unusable event, and a range is never widened',
    );
    assert.match(npm.warnings.join('\n'), /absurd\.json \(X-2\): nothing usable/);
    assert.equal(report.sources.get('osv:Nonsense')?.skipped, 1);
    assert.match(report.sources.get('osv:Nonsense')!.warnings[0], /unknown ecosystem "Nonsense"/);
    assert.equal(report.sources.get('osv:unknown')?.skipped, 1);
    const store = VulnStore.openRead(file);
    assert.equal(store.advisories('CVE-2099-0001')[0].id, 'X-3');
    assert.equal(store.advisories('X-2').length, 0);
    store.close();
  });

  it('the CLI names a path that holds nothing importable', () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'readme.txt'), 'nothing');
    const r = customs(['db', 'import', empty], { env: { CUSTOMS_DB: join(tmp, 'empty.db') } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /empty: holds no feed files/);
    assert.equal(existsSync(join(tmp, 'empty.db')), false, 'no database is left behind');
  });
});

describe('air-gapped import from a zip, and crash safety', () => {
  it('a zip of OSV records (as osv.dev publishes all.zip) imports the same as the folder', () => {
    const zip = join(tmp, 'all.zip');
    execFileSync('python3', [
      '-m',
      'zipfile',
      '-c',
      zip,
      ...readdirSync(adv('rustsec-osv', 'crates'))
        .slice(0, 200)
        .map((f) => adv('rustsec-osv', 'crates', f)),
    ]);
    const file = join(tmp, 'zip.db');
    const r = customs(['db', 'import', zip], { env: { CUSTOMS_DB: file } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /osv:crates\.io: 200 imported/);
  });

  it('killing an import mid-write leaves the previous database usable', async () => {
    const file = join(tmp, 'crash.db');
    assert.equal(customs(['db', 'import', shared('kev')], { env: { CUSTOMS_DB: file } }).status, 0);
    const before = customs(['db', 'status', '--json'], { env: { CUSTOMS_DB: file } });
    const child = spawn(
      process.execPath,
      [CLI, 'db', 'import', adv('go-osv'), adv('pypi-osv'), adv('alpine-secdb')],
      { env: { ...process.env, CUSTOMS_DB: file }, stdio: 'ignore' },
    );
    // Kill it once its private copy exists (the import is under way).
    const deadline = Date.now() + 20_000;
    while (!existsSync(`${file}.tmp-${child.pid}`) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const afterKill = customs(['db', 'status', '--json'], { env: { CUSTOMS_DB: file } });
    assert.equal(afterKill.status, 0, afterKill.stderr);
    assert.deepEqual(JSON.parse(afterKill.stdout).sources, JSON.parse(before.stdout).sources);
    // The dead writer's lock does not block the next update.
    const again = customs(['db', 'import', adv('go-osv'), '--quiet'], { env: { CUSTOMS_DB: file } });
    assert.equal(again.status, 0, again.stderr);
  });
});

describe('air-gap bundles', () => {
  it('export then import on another site gives the same database; tampering and truncation are refused', () => {
    const bundle = join(tmp, 'bundle.tar.zst');
    const ex = customs(['db', 'export', bundle], { env: { CUSTOMS_DB: dbFile } });
    assert.equal(ex.status, 0, ex.stderr);
    const other = join(tmp, 'site-b', 'customs.db');
    // An unsigned bundle is the user's own hand-over: installed only when they say so.
    const no = customs(['db', 'import', bundle], { env: { CUSTOMS_DB: other } });
    assert.equal(no.status, 1);
    assert.match(no.stderr, /bundle\.tar\.zst: the database bundle is not signed; refused\n$/);
    const im = customs(['db', 'import', bundle, '--allow-unsigned'], { env: { CUSTOMS_DB: other } });
    assert.equal(im.status, 0, im.stderr);
    assert.match(im.stdout, /unsigned; checksums verified/);
    const a = JSON.parse(customs(['db', 'status', '--json'], { env: { CUSTOMS_DB: dbFile } }).stdout);
    const b = JSON.parse(customs(['db', 'status', '--json'], { env: { CUSTOMS_DB: other } }).stdout);
    assert.deepEqual(b.advisories, a.advisories);
    assert.equal(b.builtAt, a.builtAt);

    const whole = readFileSync(bundle);
    writeFileSync(join(tmp, 'truncated.tar.zst'), whole.subarray(0, Math.floor(whole.length / 2)));
    const tr = customs(['db', 'import', join(tmp, 'truncated.tar.zst'), '--allow-unsigned'], {
      env: { CUSTOMS_DB: other },
    });
    assert.equal(tr.status, 1);
    assert.match(tr.stderr, /truncated\.tar\.zst: the database bundle is corrupt or truncated/);
    // A bundle whose database does not match its manifest (re-packed with another database).
    const dir = join(tmp, 'tamper');
    mkdirSync(dir);
    execFileSync('sh', ['-c', `zstd -dcq '${bundle}' | tar -x -C '${dir}'`]);
    writeFileSync(
      join(dir, 'customs.db'),
      Buffer.concat([readFileSync(join(dir, 'customs.db')), Buffer.from('x')]),
    );
    execFileSync('sh', [
      '-c',
      `tar -c -C '${dir}' manifest.json customs.db | zstd -q -o '${join(tmp, 'tampered.tar.zst')}'`,
    ]);
    const tm = customs(['db', 'import', join(tmp, 'tampered.tar.zst'), '--allow-unsigned'], {
      env: { CUSTOMS_DB: other },
    });
    assert.equal(tm.status, 1);
    assert.match(tm.stderr, /checksum mismatch|larger than its manifest says/);
    // The database at site B is untouched by the refused bundles.
    assert.deepEqual(
      JSON.parse(customs(['db', 'status', '--json'], { env: { CUSTOMS_DB: other } }).stdout).advisories,
      a.advisories,
    );
  });
});

describe('Debian security tracker JSON', () => {
  it('resolved, open, <ignored>, end-of-life and not-affected entries become statuses', () => {
    // Our own small file in the tracker's format (source package → CVE → release → status).
    const tracker = {
      openssl: {
        'CVE-2023-0001': {
          description: 'x',
          releases: {
            bookworm: {
              status: 'resolved',
              fixed_version: '3.0.11-1~deb12u1',
              urgency: 'medium',
              repositories: { bookworm: '3.0.11-1~deb12u2' },
            },
            bullseye: {
              status: 'open',
              urgency: 'low',
              nodsa: 'Minor issue',
              nodsa_reason: 'ignored',
              repositories: {},
            },
          },
        },
        'CVE-2023-0002': {
          releases: {
            bookworm: { status: 'resolved', fixed_version: '0', urgency: 'unimportant', repositories: {} },
          },
        },
      },
      'old-lib': {
        'CVE-2023-0003': {
          releases: { bookworm: { status: 'open', urgency: 'end-of-life', repositories: {} } },
        },
      },
      glibc: {
        'CVE-2023-0004': {
          releases: {
            bookworm: { status: 'open', urgency: 'not yet assigned', repositories: {} },
            sid: { status: 'resolved', fixed_version: '2.37-1' },
          },
        },
      },
    };
    const f = join(tmp, 'tracker.json');
    writeFileSync(f, JSON.stringify(tracker));
    const file = join(tmp, 'debian.db');
    const r = customs(['db', 'import', f], { env: { CUSTOMS_DB: file } });
    assert.equal(r.status, 0, r.stderr);
    const store = VulnStore.openRead(file);
    const rows = store.affectedFor('Debian', ['openssl', 'old-lib', 'glibc']);
    const by = (pkg: string, id: string, eco: string) =>
      rows.get(pkg)!.find((x) => x.id === id && x.ecosystem === eco)!;
    assert.deepEqual(by('openssl', 'CVE-2023-0001', 'Debian:12').ranges, [
      { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u1' }] },
    ]);
    assert.equal(by('openssl', 'CVE-2023-0001', 'Debian:11').status, 'will_not_fix');
    assert.equal(by('openssl', 'CVE-2023-0002', 'Debian:12').status, 'not_affected');
    assert.equal(by('old-lib', 'CVE-2023-0003', 'Debian:12').status, 'end_of_life');
    assert.equal(by('glibc', 'CVE-2023-0004', 'Debian:12').status, 'affected');
    assert.equal(rows.get('glibc')!.length, 1, 'sid has no release number and is not stored');
    store.close();
  });
});

describe('Alpine secdb as JSON (as secdb.alpinelinux.org serves it today)', () => {
  it('imports the same entries as the YAML', () => {
    const dir = join(tmp, 'secdb-json', 'v3.10');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'main.json'),
      JSON.stringify(YAML.parse(readFileSync(adv('alpine-secdb/v3.10/main.yaml'), 'utf8'))),
    );
    const a = customs(['db', 'import', join(tmp, 'secdb-json')], {
      env: { CUSTOMS_DB: join(tmp, 'json.db') },
    });
    const b = customs(['db', 'import', adv('alpine-secdb/v3.10/main.yaml')], {
      env: { CUSTOMS_DB: join(tmp, 'yaml.db') },
    });
    assert.equal(a.status, 0, a.stderr);
    const count = (out: string) => /alpine-secdb: (\d+) imported/.exec(out)?.[1];
    assert.equal(count(a.stdout), count(b.stdout));
    assert.ok(Number(count(a.stdout)) > 1000);
  });
});

describe('NVD yearly feeds', () => {
  it('a large year is streamed: ~90 MB of JSON imports in well under 256 MiB', async () => {
    // The shape of nvdcve-2.0-YYYY.json: one object, its CVEs in `vulnerabilities`.
    const file = join(tmp, 'nvdcve-2.0-2099.json.gz');
    const filler = 'x'.repeat(700);
    const items: string[] = [];
    for (let i = 0; i < 110_000; i++)
      items.push(
        JSON.stringify({
          cve: {
            id: `CVE-2099-${String(i).padStart(5, '0')}`,
            published: '2099-01-01T00:00:00.000',
            descriptions: [{ lang: 'en', value: `test ${i} ${filler}` }],
            metrics: {
              cvssMetricV31: [
                {
                  source: 'nvd@nist.gov',
                  type: 'Primary',
                  cvssData: {
                    version: '3.1',
                    vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
                    baseScore: 9.8,
                    baseSeverity: 'CRITICAL',
                  },
                },
              ],
            },
            weaknesses: [
              { source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: 'CWE-787' }] },
            ],
          },
        }),
      );
    const json = `{"resultsPerPage":${items.length},"startIndex":0,"totalResults":${items.length},"format":"NVD_CVE","version":"2.0","timestamp":"2099-01-01T00:00:00.000","vulnerabilities":[${items.join(',')}]}`;
    assert.ok(json.length > 90e6, `${json.length} bytes`);
    writeFileSync(file, gzipSync(json, { level: 1 }));
    const db = join(tmp, 'nvd-stream.db');
    const r = await customsPeak(['db', 'import', file, '--db', db]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /nvd: 110000 imported/);
    assert.ok(r.peakMiB < 256, `peak RSS ${r.peakMiB} MiB`);
    const show = JSON.parse(customs(['db', 'show', 'CVE-2099-04242', '--json', '--db', db]).stdout);
    assert.deepEqual(show.enrichment[0].nvd.cwes, ['CWE-787']);
  });
});
