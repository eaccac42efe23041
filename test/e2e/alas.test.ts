import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alasRelease } from '../../src/vulndb/importers/updateinfo.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// Amazon Linux advisories (ALAS) from yum's updateinfo.xml: a sample written in that format
// (test/fixtures/amazon/updateinfo.xml), matched against a real Amazon Linux 2023 rpm database
// (../shared/data/fixtures/rpm/amazonlinux2023-sqlite: curl-minimal 8.0.1-1.amzn2023.0.1,
// openssl-libs 1:3.0.8-1.amzn2023.0.4, bash 5.2.15-1.amzn2023.0.2).
const SAMPLE = join(import.meta.dirname, '../../../test/fixtures/amazon/updateinfo.xml');
let tmp: string;
let env: Record<string, string>;
let root: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-alas-'));
  env = { CUSTOMS_DB: join(tmp, 'customs.db') };
  root = join(tmp, 'rootfs');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'var/lib/rpm'), { recursive: true });
  // Amazon Linux 2023's os-release (no such file among the shared fixtures).
  writeFileSync(
    join(root, 'etc/os-release'),
    'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023"\n',
  );
  copyFileSync(
    shared('fixtures/rpm/amazonlinux2023-sqlite/rpmdb.sqlite'),
    join(root, 'var/lib/rpm/rpmdb.sqlite'),
  );
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('Amazon Linux advisories (ALAS, updateinfo.xml)', () => {
  it('imports every advisory with its CVEs and the binary rpms that fix it', () => {
    const r = customs(['db', 'import', SAMPLE], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /alas: 3 imported/);
    const show = customs(['db', 'show', 'ALAS2023-2023-9001', '--json'], { env });
    assert.equal(show.status, 0, show.stderr);
    const doc = JSON.parse(show.stdout);
    const text = JSON.stringify(doc);
    assert.match(text, /CVE-2023-28319/);
    assert.match(text, /curl-minimal/);
    assert.match(text, /8\.0\.1-1\.amzn2023\.0\.2/);
  });

  it('an Amazon Linux 2023 root filesystem: only its release, only versions below the fix', () => {
    const r = customs(['rootfs', root, '--format', 'json', '-q'], { env });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      os: { id: string; version: string };
      findings: Array<{
        id: string;
        aliases: string[];
        package: { name: string };
        fixedVersion?: string;
        severity: { level: string; source: string };
      }>;
    };
    assert.equal(result.os.id, 'amzn');
    const got = result.findings
      .map((f) => `${f.package.name} ${[f.id, ...f.aliases].sort().join(',')} ${f.fixedVersion}`)
      .sort();
    // ALAS's own rating ("Medium") is the severity.
    for (const f of result.findings)
      assert.deepEqual(f.severity, { level: 'MEDIUM', source: 'alas:ALAS2023-2023-9001' });
    // One finding per advisory and package, its CVEs as aliases.
    assert.deepEqual(got, [
      'curl-minimal ALAS2023-2023-9001,CVE-2023-28319,CVE-2023-28320 8.0.1-1.amzn2023.0.2',
      'libcurl-minimal ALAS2023-2023-9001,CVE-2023-28319,CVE-2023-28320 8.0.1-1.amzn2023.0.2',
    ]);
  });

  it('the release from the advisory id', () => {
    assert.equal(alasRelease('ALAS2023-2023-181'), '2023');
    assert.equal(alasRelease('ALAS2-2023-2000'), '2');
    assert.equal(alasRelease('ALAS-2018-1000'), '1');
    assert.equal(alasRelease('ALAS2EXTRAS-2023-001'), '2');
    assert.equal(alasRelease('RHSA-2023:1234'), undefined);
  });
});
