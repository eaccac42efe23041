import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import YAML from 'yaml';
import { parseApkDb } from '../../src/catalog/apk.js';
import { schemeForEcosystem } from '../../src/versions/index.js';
import { dockerArchive } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';
import { schemaErrors, schemaErrors2020 } from '../helpers/schemas.js';

let tmp: string;
let env: Record<string, string>;
const apk = schemeForEcosystem('Alpine')!;
const images: Record<string, string> = {};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-scan-'));
  env = { CUSTOMS_DB: join(tmp, 'customs.db') };
  const r = customs(['db', 'import', shared('advisories/alpine-secdb'), shared('kev'), '-q'], { env });
  assert.equal(r.status, 0, r.stderr);
  for (const v of ['3.7.3', '3.8.5', '3.9.6', '3.10.9', '3.16.9', '3.20.3']) {
    const f = join(tmp, `alpine-${v}.tar`);
    writeFileSync(
      f,
      await dockerArchive({
        layers: [gunzipSync(readFileSync(shared(`images/alpine/alpine-minirootfs-${v}-x86_64.tar.gz`)))],
        tag: `alpine:${v}`,
      }),
    );
    images[v] = f;
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** What secdb says independently: for each installed package's origin, CVEs fixed after its version. */
function expectedFromSecdb(version: string): Map<string, string> {
  const branch = `v${version.split('.').slice(0, 2).join('.')}`;
  const db = execFileSync(
    'tar',
    ['-xzOf', shared(`images/alpine/alpine-minirootfs-${version}-x86_64.tar.gz`), './lib/apk/db/installed'],
    { encoding: 'utf8' },
  );
  const installed = parseApkDb(db);
  const want = new Map<string, string>(); // "pkg CVE" → fixed version
  let dir: string[] = [];
  try {
    dir = readdirSync(shared('advisories/alpine-secdb', branch));
  } catch {
    return want; // no secdb data for this branch
  }
  for (const f of dir) {
    for (const p of YAML.parse(readFileSync(shared('advisories/alpine-secdb', branch, f), 'utf8')).packages ??
      []) {
      for (const pkg of installed.filter((i) => (i.origin ?? i.name) === p.pkg.name)) {
        for (const [fixed, ids] of Object.entries(p.pkg.secfixes ?? {})) {
          if (fixed === '0' || apk.compare(pkg.version, fixed) >= 0) continue;
          for (const id of (ids as string[]) ?? []) {
            const cve = /CVE-\d{4}-\d+/.exec(String(id))?.[0];
            if (!cve) continue;
            const key = `${pkg.name} ${cve}`;
            const prev = want.get(key);
            if (!prev || apk.compare(fixed, prev) < 0) want.set(key, fixed);
          }
        }
      }
    }
  }
  return want;
}

describe('scanning Alpine images against the Alpine secdb', () => {
  for (const v of ['3.7.3', '3.8.5', '3.9.6', '3.10.9']) {
    it(`${v}: exactly the CVEs secdb lists as fixed after the installed versions, with their fixed versions`, () => {
      const r = customs(['image', images[v], '--format', 'json'], { env });
      assert.equal(r.status, 0, r.stderr);
      const scan = JSON.parse(r.stdout);
      const got = new Map<string, string>(
        scan.findings
          .filter((f: { id: string }) => f.id.startsWith('CVE-'))
          .map((f: { package: { name: string }; id: string; fixedVersion: string }) => [
            `${f.package.name} ${f.id}`,
            f.fixedVersion,
          ]),
      );
      const want = expectedFromSecdb(v);
      assert.deepEqual([...got.entries()].sort(), [...want.entries()].sort());
      if (v === '3.7.3') assert.ok(want.size > 0, 'an old release has known vulnerabilities');
      for (const f of scan.findings) {
        assert.equal(f.status, 'fixed');
        assert.ok(f.package.layer.diffId.startsWith('sha256:'));
        assert.ok(f.dataSources.some((s: string) => s.startsWith('alpine-secdb:')));
        assert.ok(Array.isArray(f.risk.factors) && f.risk.factors.length >= 2);
      }
      assert.equal(scan.summary.total, scan.findings.length);
    });
  }

  it('a newer release (3.20.3) has none of those findings (no data for its branch, and a warning says so)', () => {
    const r = customs(['image', images['3.20.3'], '--format', 'json'], { env });
    assert.equal(r.status, 0);
    assert.equal(JSON.parse(r.stdout).findings.length, 0);
    assert.match(r.stderr, /none for release 3\.20\.3/);
  });

  it('the table lists findings worst first with a summary and grade', () => {
    const r = customs(['image', images['3.7.3']], { env });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /RISK\s+VULNERABILITY\s+SEVERITY\s+PACKAGE\s+INSTALLED\s+FIXED IN/);
    assert.match(r.stdout, /CVE-2019-14697\s+\w+\s+musl\s+1\.1\.18-r3\s+1\.1\.18-r4\s+fixed/);
    assert.match(r.stdout, /\d+ vulnerabilities .* grade [A-F] \(/);
  });

  it('--explain says each risk in words under its finding (the text the dashboard shows)', () => {
    const r = customs(['image', images['3.7.3'], '--explain', '-q'], { env });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => /CVE-2019-14697\s+\w+\s+musl/.test(l));
    const score = lines[at].trim().split(/\s+/)[0];
    assert.match(
      lines[at + 1],
      new RegExp(
        `^ {6}risk ${score}: severity .+: [\\d.]+ points; not known to be exploited \\(not in KEV, no EPSS score\\); a fix is available \\(fixed in 1\\.1\\.18-r4\\): \\+5; exposure and environment internet × production: ×1$`,
      ),
    );
    // Without the flag, the table has no such lines.
    assert.doesNotMatch(customs(['image', images['3.7.3'], '-q'], { env }).stdout, /^ {6}risk \d+:/m);
  });
});

describe('gates and SARIF', () => {
  it('exit codes: --exit-code with findings, --ignore-unfixed, --severity and --fail-on thresholds', () => {
    assert.equal(customs(['image', images['3.7.3'], '--exit-code', '3', '-q'], { env }).status, 3);
    assert.equal(
      customs(['image', images['3.10.9'], '--exit-code', '3', '-q'], { env }).status,
      0,
      'nothing found, nothing fails',
    );
    assert.equal(
      customs(['image', images['3.7.3'], '--severity', 'CRITICAL', '--exit-code', '4', '-q'], { env }).status,
      0,
      'none rated critical without NVD data',
    );
    assert.equal(customs(['image', images['3.7.3'], '--fail-on', 'UNKNOWN', '-q'], { env }).status, 1);
    assert.equal(customs(['image', images['3.7.3'], '--fail-on', 'HIGH', '-q'], { env }).status, 0);
    assert.equal(
      customs(['image', images['3.7.3'], '--ignore-unfixed', '--exit-code', '5', '-q'], { env }).status,
      5,
      'these all have fixes',
    );
    const bad = customs(['image', images['3.7.3'], '--severity', 'SEVERE'], { env });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /unknown level\(s\) SEVERE/);
  });

  it('SARIF is valid 2.1.0, one rule per vulnerability, results at the package database with fingerprints', () => {
    const out = join(tmp, 'scan.sarif');
    const r = customs(['image', images['3.7.3'], '--format', 'sarif', '--output', out], { env });
    assert.equal(r.status, 0, r.stderr);
    const sarif = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
    const run = sarif.runs[0];
    assert.ok(run.results.length > 0);
    assert.equal(
      new Set(run.tool.driver.rules.map((x: { id: string }) => x.id)).size,
      run.tool.driver.rules.length,
    );
    for (const res of run.results) {
      assert.equal(res.locations[0].physicalLocation.artifactLocation.uri, 'lib/apk/db/installed');
      assert.match(res.partialFingerprints['customsFinding/v1'], /^[0-9a-f]{64}$/);
      assert.ok(
        run.tool.driver.rules.find((x: { id: string }) => x.id === res.ruleId).properties[
          'security-severity'
        ],
      );
    }
  });

  it('first use without a database tries to download one, and says how to get one when it cannot', () => {
    const r = customs(['image', images['3.9.6'], '-q'], {
      env: { CUSTOMS_DB: join(tmp, 'first', 'customs.db'), CUSTOMS_DB_REPOSITORY: '127.0.0.1:9/customs-db' },
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^customs: no vulnerability database at .*; run "customs db update" \(online\) or "customs db import PATH" \(offline\) \(the download failed: registry 127\.0\.0\.1:9: connection refused \(is the registry running\?\)\)\n$/,
    );
  });

  it('offline, without a database, one line says how to get one', () => {
    const r = customs(['image', images['3.9.6']], {
      env: { CUSTOMS_DB: join(tmp, 'none.db'), CUSTOMS_OFFLINE: '1' },
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^customs: no vulnerability database at .*none\.db; run "customs db update" \(online\) or "customs db import PATH" \(offline\)\n$/,
    );
  });
});

describe('exceptions: ignore file and VEX', () => {
  const scan = (args: string[], cwd?: string) => {
    const r = customs(['image', images['3.7.3'], '--format', 'json', ...args], { env, cwd });
    return { r, json: r.status === 0 ? JSON.parse(r.stdout) : undefined };
  };

  it('an exception with a reason suppresses one package, stays visible in JSON, and expired ones say so', () => {
    const file = join(tmp, 'ignore.yaml');
    writeFileSync(
      file,
      [
        'ignores:',
        '  - id: CVE-2019-14697',
        '    package: musl',
        '    reason: the affected code path is unused',
        '  - id: CVE-2019-14697',
        '    package: musl-utils',
        '    reason: old exception',
        '    expires: 2020-01-01',
        '',
      ].join('\n'),
    );
    const { r, json } = scan(['--ignorefile', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      json.findings.map((f: { package: { name: string } }) => f.package.name),
      ['musl-utils'],
    );
    assert.equal(json.suppressed.length, 1);
    assert.equal(json.suppressed[0].suppression.reason, 'the affected code path is unused');
    assert.match(json.suppressed[0].suppression.source, /ignore\.yaml:2$/);
    assert.match(
      r.stderr,
      /ignore\.yaml:5: the exception for CVE-2019-14697 expired on 2020-01-01 and no longer applies/,
    );
  });

  it('.customsignore.yaml in the working folder is read by default; environments limit an exception', () => {
    const dir = join(tmp, 'project');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(
      join(dir, '.customsignore.yaml'),
      'ignores:\n  - id: CVE-2019-14697\n    reason: accepted in dev only\n    environments: [dev]\n',
    );
    assert.equal(scan(['--env', 'dev'], dir).json.findings.length, 0);
    assert.equal(scan(['--env', 'production'], dir).json.findings.length, 2);
  });

  it('an ignore file that does not parse, or lacks a reason, is a clear error naming the file and line', () => {
    const bad = join(tmp, 'bad-ignore.yaml');
    writeFileSync(bad, 'ignores:\n  - id: CVE-2019-14697\n    package: musl\n');
    const r = scan(['--ignorefile', bad]).r;
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^customs: .*bad-ignore\.yaml: line 2: exception for CVE-2019-14697 needs a "reason"\n$/,
    );
    writeFileSync(bad, 'ignores:\n  - id: [unclosed\n');
    assert.match(scan(['--ignorefile', bad]).r.stderr, /bad-ignore\.yaml: line \d+: /);
  });

  it('OpenVEX: not_affected suppresses with its justification, under_investigation annotates', () => {
    const vex = {
      '@context': 'https://openvex.dev/ns/v0.2.0',
      '@id': 'https://example.org/vex/customs-test-1',
      author: 'Customs tests',
      timestamp: '2026-11-24T00:00:00Z',
      version: 1,
      statements: [
        {
          vulnerability: { name: 'CVE-2019-14697' },
          products: [{ '@id': 'pkg:apk/alpine/musl-utils' }],
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
          impact_statement: 'musl-utils does not use the x87 code',
        },
        {
          vulnerability: { name: 'CVE-2019-14697' },
          products: [{ '@id': 'pkg:apk/alpine/musl' }],
          status: 'under_investigation',
        },
      ],
    };
    assert.deepEqual(schemaErrors2020('openvex', vex), []);
    const file = join(tmp, 'doc.openvex.json');
    writeFileSync(file, JSON.stringify(vex));
    const { r, json } = scan(['--vex', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      json.findings.map((f: { package: { name: string } }) => f.package.name),
      ['musl'],
    );
    assert.equal(json.findings[0].vex.status, 'under_investigation');
    assert.equal(json.suppressed[0].suppression.justification, 'vulnerable_code_not_in_execute_path');
    const table = customs(['image', images['3.7.3'], '--vex', file, '--show-suppressed'], { env });
    assert.match(
      table.stdout,
      /Suppressed \(1\):\n\s+CVE-2019-14697\s+musl-utils .*vex: musl-utils does not use the x87 code/,
    );
  });

  it('a VEX file that does not parse is a clear error naming the file and line', () => {
    const file = join(tmp, 'broken.vex.json');
    writeFileSync(file, '{\n  "@context": "https://openvex.dev/ns/v0.2.0",\n  "statements": [\n');
    const r = scan(['--vex', file]).r;
    assert.equal(r.status, 1);
    assert.match(r.stderr, /broken\.vex\.json: line \d+: not valid JSON/);
  });
});

describe('every output format from one scan', () => {
  const run = (format: string, extra: string[] = []) => {
    const r = customs(['image', images['3.7.3'], '--format', format, ...extra], { env });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };

  it('CycloneDX 1.6 with vulnerabilities (valid), suppressed ones carrying their VEX analysis', () => {
    const vex = join(tmp, 'one.openvex.json');
    writeFileSync(
      vex,
      JSON.stringify({
        '@context': 'https://openvex.dev/ns/v0.2.0',
        '@id': 'https://example.org/vex/2',
        author: 't',
        timestamp: '2026-11-24T00:00:00Z',
        version: 1,
        statements: [
          {
            vulnerability: { name: 'CVE-2019-14697' },
            products: [{ '@id': 'pkg:apk/alpine/musl-utils' }],
            status: 'not_affected',
            justification: 'vulnerable_code_not_in_execute_path',
          },
        ],
      }),
    );
    const bom = JSON.parse(run('cyclonedx', ['--vex', vex]));
    assert.deepEqual(schemaErrors('cyclonedx-1.6', bom), []);
    assert.equal(bom.vulnerabilities.length, 2);
    const refs = new Set(bom.components.map((c: { 'bom-ref': string }) => c['bom-ref']));
    for (const v of bom.vulnerabilities)
      for (const a of v.affects) assert.ok(refs.has(a.ref), `${a.ref} is a component`);
    const analysed = bom.vulnerabilities.find((v: { analysis?: unknown }) => v.analysis);
    assert.equal(analysed.analysis.state, 'not_affected');
    assert.equal(analysed.analysis.justification, 'code_not_reachable');
  });

  it('SPDX 2.3 (valid) with the findings as SECURITY references of their packages', () => {
    const doc = JSON.parse(run('spdx'));
    assert.deepEqual(schemaErrors('spdx-2.3', doc), []);
    const musl = doc.packages.find((p: { name: string }) => p.name === 'musl');
    assert.ok(
      musl.externalRefs.some(
        (e: { referenceCategory: string; referenceLocator: string }) =>
          e.referenceCategory === 'SECURITY' && e.referenceLocator.endsWith('CVE-2019-14697'),
      ),
    );
  });

  it('Markdown, HTML, JUnit XML and GitLab reports', () => {
    const md = run('markdown');
    assert.match(md, /^### Customs: alpine:3\.7\.3 — grade \*\*[A-F]\*\*/);
    assert.match(md, /\| \d+ \| \[CVE-2019-14697\]\(https:\/\/osv\.dev\/vulnerability\/CVE-2019-14697\) \|/);
    const html = run('html');
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<link\b|<script[^>]*\bsrc=/, 'self-contained, nothing loaded from elsewhere');
    assert.match(html, /CVE-2019-14697/);
    const xml = run('junit');
    execFileSync('python3', [
      '-c',
      'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); assert r.find("testsuite").get("failures") == "2"',
      writeTmp('junit.xml', xml),
    ]);
    const gl = JSON.parse(run('gitlab'));
    assert.equal(gl.scan.type, 'container_scanning');
    assert.equal(gl.vulnerabilities.length, 2);
    assert.equal(gl.vulnerabilities[0].identifiers[0].type, 'cve');
  });
});

describe('database freshness in every report', () => {
  let stale: NodeJS.ProcessEnv;
  before(() => {
    // The same database, built 40 days ago, and its last NVD update failed.
    const file = join(tmp, 'stale.db');
    copyFileSync(env.CUSTOMS_DB!, file);
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'built_at'").run(
      new Date(Date.now() - 40 * 86_400_000).toISOString(),
    );
    db.prepare(
      "INSERT INTO sources (name, kind, records, status, error) VALUES ('nvd', 'feed', 0, 'error', 'HTTP 503 from nvd.nist.gov')",
    ).run();
    db.close();
    stale = { CUSTOMS_DB: file };
  });
  const scan = (format: string, extra: string[] = []) => {
    const r = customs(['image', images['3.7.3'], '--format', format, '-q', ...extra], { env: stale });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const NOTICE =
    /the vulnerability database is 40 days old .*; the last update of nvd failed \(HTTP 503 from nvd\.nist\.gov\)/;

  it('a fresh database is named, with no warning', () => {
    const r = customs(['image', images['3.7.3'], '--format', 'json'], { env });
    const d = JSON.parse(r.stdout).database;
    assert.match(d.version, /^\d{4}-\d\d-\d\dT/);
    assert.equal(d.origin, 'built here from feeds');
    assert.equal(d.stale, false);
    assert.equal(d.notice, undefined);
    assert.doesNotMatch(r.stderr, /database/);
    assert.match(
      customs(['image', images['3.7.3']], { env }).stdout,
      /^database \S+, today · built here from feeds$/m,
    );
  });

  it('over 30 days old or with a failed source: a line in every format, valid against its schema', () => {
    assert.match(scan('table'), new RegExp(`^WARNING: ${NOTICE.source}`, 'm'));
    const json = JSON.parse(scan('json'));
    assert.match(json.database.notice, NOTICE);
    assert.equal(json.database.stale, true);
    assert.ok(json.warnings.some((w: string) => NOTICE.test(w)));
    const sarif = JSON.parse(scan('sarif'));
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
    assert.ok(
      sarif.runs[0].invocations[0].toolExecutionNotifications.some((n: { message: { text: string } }) =>
        NOTICE.test(n.message.text),
      ),
    );
    const cdx = JSON.parse(scan('cyclonedx'));
    assert.deepEqual(schemaErrors('cyclonedx-1.6', cdx), []);
    assert.match(
      cdx.metadata.properties.find((p: { name: string }) => p.name === 'customs:database:warning').value,
      NOTICE,
    );
    const spdx = JSON.parse(scan('spdx'));
    assert.deepEqual(schemaErrors('spdx-2.3', spdx), []);
    assert.match(spdx.creationInfo.comment, NOTICE);
    assert.match(scan('markdown'), new RegExp(`> \\*\\*Warning:\\*\\* ${NOTICE.source}`));
    assert.match(scan('html'), new RegExp(`<p class="notice"><strong>Warning:</strong> ${NOTICE.source}`));
    assert.match(
      scan('junit'),
      new RegExp(`<property name="customs.database.warning" value="${NOTICE.source}`),
    );
    assert.match(JSON.parse(scan('gitlab')).scan.messages[0].value, NOTICE);
  });

  it('--fail-on-stale-db fails the gate; --db-max-age decides what is stale', () => {
    const r = customs(['image', images['3.7.3'], '--fail-on-stale-db', '--fail-on', 'CRITICAL'], {
      env: stale,
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /customs: the gate fails: the vulnerability database is stale \(the vulnerability database is 40 days old/,
    );
    // Without --fail-on-stale-db the same scan passes --fail-on CRITICAL (nothing critical found).
    assert.equal(
      customs(['image', images['3.7.3'], '--fail-on', 'CRITICAL', '-q'], { env: stale }).status,
      0,
    );
    // A fresh database passes; with --db-max-age 0 any age is stale (a warning).
    assert.equal(customs(['image', images['3.7.3'], '--fail-on-stale-db', '-q'], { env }).status, 0);
    const zero = customs(['image', images['3.7.3'], '--db-max-age', '0'], { env });
    assert.match(
      zero.stderr,
      /warning: the vulnerability database is 0 days old \(version \S+\); run "customs db update"/,
    );
  });
});

describe('coverage: an OS release the database has no advisories for is visible in every report', () => {
  // The shared secdb holds v3.3–v3.11: Alpine 3.16.9's 14 packages cannot be matched at all.
  const scan = (format: string, image = images['3.16.9']) => {
    const r = customs(['image', image, '--format', format], { env });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const GAP =
    /alpine 3\.16\.9: no data \(the database has Alpine advisories, but none for release 3\.16\.9\)/;

  it('JSON carries a coverage block; a covered release says so', () => {
    const c = JSON.parse(scan('json')).coverage;
    assert.equal(c.complete, false);
    assert.deepEqual(
      { ...c.os, detail: undefined },
      { kind: 'os', name: 'alpine 3.16.9', packages: 14, status: 'no-data', sources: [], detail: undefined },
    );
    const covered = JSON.parse(scan('json', images['3.7.3'])).coverage;
    assert.equal(covered.complete, true);
    assert.deepEqual(covered.os.sources, ['alpine-secdb']);
    assert.equal(covered.os.status, 'covered');
  });

  it('the table, Markdown, HTML, SARIF, CycloneDX, SPDX, JUnit and GitLab say it; the grade is marked', () => {
    const table = scan('table');
    assert.match(table, /grade C, not covered \(end-of-life OS; no vulnerabilities found\) · NOT COVERED: /);
    assert.match(table, GAP);
    assert.match(table, /^No vulnerabilities found where the database has data/m);
    assert.doesNotMatch(scan('table', images['3.7.3']), /not covered|NOT COVERED/i);
    const md = scan('markdown');
    assert.match(md, /grade \*\*C, not covered\*\*/);
    assert.match(md, new RegExp(`> \\*\\*Not covered:\\*\\* ${GAP.source}`));
    const html = scan('html');
    assert.match(html, /<span class="uncovered">not covered<\/span>/);
    assert.match(html, new RegExp(`<strong>Not covered:</strong> ${GAP.source}`));
    assert.match(html, / · 1 layer · /);
    const sarif = JSON.parse(scan('sarif'));
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
    assert.ok(
      sarif.runs[0].invocations[0].toolExecutionNotifications.some((n: { message: { text: string } }) =>
        GAP.test(n.message.text),
      ),
    );
    assert.equal(sarif.runs[0].properties.coverage.complete, false);
    const cdx = JSON.parse(scan('cyclonedx'));
    assert.deepEqual(schemaErrors('cyclonedx-1.6', cdx), []);
    const props = cdx.metadata.properties as Array<{ name: string; value: string }>;
    assert.match(
      props.find((p) => p.name === 'customs:coverage')!.value,
      new RegExp(`^incomplete: ${GAP.source}`),
    );
    assert.ok(props.some((p) => p.name === 'customs:coverage:os' && p.value === 'alpine 3.16.9: no-data'));
    const spdx = JSON.parse(scan('spdx'));
    assert.deepEqual(schemaErrors('spdx-2.3', spdx), []);
    assert.match(spdx.creationInfo.comment, GAP);
    const xml = scan('junit');
    assert.match(xml, /skipped="1"/);
    assert.match(
      xml,
      /<testcase classname="customs.coverage" name="alpine 3.16.9 not covered" time="0">\n\s+<skipped message="no-data: the database has Alpine advisories, but none for release 3.16.9"\/>/,
    );
    execFileSync('python3', [
      '-c',
      'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])',
      writeTmp('coverage.junit.xml', xml),
    ]);
    const gl = JSON.parse(scan('gitlab'));
    assert.ok(gl.scan.messages.some((m: { value: string }) => GAP.test(m.value)));
  });
});

function writeTmp(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

describe('sbom-scan: scanning an SBOM instead of an image', () => {
  for (const format of ['cyclonedx', 'spdx']) {
    it(`Customs' own ${format} SBOM gives the same findings as the image`, () => {
      const sbom = join(tmp, `373.${format}.json`);
      assert.equal(customs(['sbom', images['3.7.3'], '--format', format, '--output', sbom]).status, 0);
      const fromSbom = JSON.parse(customs(['sbom-scan', sbom, '--format', 'json'], { env }).stdout);
      const fromImage = JSON.parse(customs(['image', images['3.7.3'], '--format', 'json'], { env }).stdout);
      const key = (s: { findings: Array<{ id: string; package: { name: string }; fixedVersion: string }> }) =>
        s.findings.map((f) => `${f.package.name} ${f.id} ${f.fixedVersion}`).sort();
      assert.deepEqual(key(fromSbom), key(fromImage));
      assert.equal(fromSbom.os.id, 'alpine');
      assert.equal(fromSbom.summary.grade, fromImage.summary.grade);
    });
  }

  it('a file that is not an SBOM is a clear error', () => {
    const f = writeTmp('not-sbom.json', '{"hello": 1}');
    const r = customs(['sbom-scan', f], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not-sbom\.json: neither CycloneDX nor SPDX JSON/);
  });
});

describe('customs fs: a source tree', () => {
  it('finds lockfile and installed packages once each, honours --skip-dirs, and matches npm advisories', () => {
    const dir = join(tmp, 'project');
    const nm = join(dir, 'node_modules', 'left-pad');
    execFileSync('mkdir', ['-p', nm, join(dir, 'vendor-old'), join(dir, '.git')]);
    writeFileSync(
      join(dir, 'package-lock.json'),
      JSON.stringify({
        name: 'p',
        lockfileVersion: 3,
        packages: {
          '': { name: 'p' },
          'node_modules/left-pad': { version: '1.2.0' },
          'node_modules/mocha': { version: '10.0.0', dev: true },
        },
      }),
    );
    writeFileSync(join(nm, 'package.json'), JSON.stringify({ name: 'left-pad', version: '1.2.0' }));
    writeFileSync(
      join(dir, 'vendor-old', 'package-lock.json'),
      JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/skipped': { version: '1.0.0' } } }),
    );
    // An advisory of our own for left-pad < 1.3.0.
    const feed = join(tmp, 'npm-feed');
    execFileSync('mkdir', ['-p', feed]);
    writeFileSync(
      join(feed, 'X-LEFTPAD.json'),
      JSON.stringify({
        id: 'GHSA-test-leftpad',
        modified: '2024-01-01T00:00:00Z',
        aliases: ['CVE-2099-1234'],
        database_specific: { severity: 'HIGH' },
        affected: [
          {
            package: { ecosystem: 'npm', name: 'left-pad' },
            ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }],
          },
        ],
      }),
    );
    const fsEnv = { CUSTOMS_DB: join(tmp, 'fs.db') };
    assert.equal(customs(['db', 'import', feed], { env: fsEnv }).status, 0);
    const r = customs(['fs', dir, '--skip-dirs', 'vendor-old', '--format', 'json'], { env: fsEnv });
    assert.equal(r.status, 0, r.stderr);
    const scan = JSON.parse(r.stdout);
    assert.deepEqual(scan.packages.map((p: { purl: string }) => p.purl).sort(), [
      'pkg:npm/left-pad@1.2.0',
      'pkg:npm/mocha@10.0.0',
    ]);
    const leftPad = scan.packages.find((p: { name: string }) => p.name === 'left-pad');
    assert.deepEqual(leftPad.locations.map((l: { path: string }) => l.path).sort(), [
      '/node_modules/left-pad/package.json',
      '/package-lock.json',
    ]);
    assert.equal(scan.findings.length, 1);
    assert.deepEqual(
      [scan.findings[0].id, scan.findings[0].fixedVersion, scan.findings[0].severity.level],
      ['CVE-2099-1234', '1.3.0', 'HIGH'],
    );
  });
});
