import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { elRelease } from '../../src/vulndb/importers/updateinfo.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// Each distribution matched against its own advisories only. Samples written in the published
// formats (test/fixtures/distro-osv: OSV records of the Azure Linux, Photon OS, Red Hat and SUSE
// ecosystems; test/fixtures/oracle/updateinfo.xml: Oracle Linux errata), made-up advisory ids and
// versions, real CVE ids. The root filesystems are real package databases from ../shared (CBL-Mariner
// 2.0's rpm SQLite database: curl 7.76.0-6.cm2; a SLES 15 BCI image's ndb database: libz1
// 1.2.11-150000.3.36.1) under the real os-release of each distribution. The Mariner database stands
// in for the rpm databases of the others (none is among the shared fixtures): what is tested is
// which advisories apply to which release.
const FIXTURES = join(import.meta.dirname, '../../../test/fixtures');
let tmp: string;
let env: Record<string, string>;

function rootfs(osRelease: string, db: 'mariner' | 'sles'): string {
  const root = join(tmp, osRelease);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'var/lib/rpm'), { recursive: true });
  copyFileSync(shared(`fixtures/os-release/trivy-os-release/${osRelease}`), join(root, 'etc/os-release'));
  if (db === 'mariner')
    copyFileSync(
      shared('fixtures/rpm/cbl-mariner-2.0-sqlite/rpmdb.sqlite'),
      join(root, 'var/lib/rpm/rpmdb.sqlite'),
    );
  else copyFileSync(shared('fixtures/rpm/sle15-bci-ndb/Packages.db'), join(root, 'var/lib/rpm/Packages.db'));
  return root;
}

/** Every finding as "package advisory-ids fixed-version", sorted. */
function scan(root: string): { os: string; findings: string[] } {
  const r = customs(['rootfs', root, '--format', 'json', '-q'], { env });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as {
    os: { id: string; version: string };
    findings: Array<{ id: string; aliases: string[]; package: { name: string }; fixedVersion?: string }>;
  };
  return {
    os: `${result.os.id} ${result.os.version}`,
    findings: result.findings
      .map((f) => `${f.package.name} ${[f.id, ...f.aliases].sort().join(',')} ${f.fixedVersion}`)
      .sort(),
  };
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-distro-'));
  env = { CUSTOMS_DB: join(tmp, 'customs.db') };
  const r = customs(
    [
      'db',
      'import',
      join(FIXTURES, 'distro-osv'),
      join(FIXTURES, 'oracle/updateinfo.xml'),
      join(FIXTURES, 'redhat'),
    ],
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr + r.stdout, /elsa: 2 imported/);
  assert.match(r.stderr + r.stdout, /redhat-csaf: 2 imported/);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('distribution feeds: each release its own advisories', () => {
  it('CBL-Mariner 2.0 and Azure Linux 3.0 (OSV "Azure Linux:2" and ":3")', () => {
    const mariner = scan(rootfs('mariner-2.0', 'mariner'));
    assert.equal(mariner.os, 'mariner 2.0');
    assert.deepEqual(
      mariner.findings.filter((f) => f.startsWith('curl ')),
      ['curl AZL-90001,CVE-2022-22576 7.76.0-7.cm2'],
    );
    assert.ok(!mariner.findings.some((f) => f.includes('AZL-90002')));
    const azl = scan(rootfs('azurelinux-3.0', 'mariner'));
    assert.equal(azl.os, 'azurelinux 3.0');
    assert.deepEqual(azl.findings, ['curl AZL-90002,CVE-2023-38545 8.8.0-1.azl3']);
  });

  it('Photon OS 4.0 (OSV "Photon OS:4.0")', () => {
    const photon = scan(rootfs('photon', 'mariner'));
    assert.equal(photon.os, 'photon 4.0');
    assert.deepEqual(
      photon.findings.filter((f) => f.startsWith('curl ')),
      ['curl CVE-2022-27774,PHSA-2099-4.0-0001 7.82.0-1.ph4'],
    );
    assert.ok(!photon.findings.some((f) => f.includes('PHSA-2099-5.0')));
  });

  it("CentOS Stream 8 takes Red Hat's enterprise_linux:8 data, not 9's", () => {
    const stream = scan(rootfs('centos-stream', 'mariner'));
    assert.equal(stream.os, 'centos-stream 8');
    // RHEL 8: curl fixed by the RHSA, and affected without a fix by CVE-2023-38546 (VEX); bash is
    // not affected by CVE-2022-3715 in 8.
    assert.deepEqual(
      stream.findings.filter((f) => !f.includes('CVE-2023-38546')),
      ['curl CVE-2022-32221,RHSA-2099:0001 7.76.1-1.el8'],
    );
    assert.ok(stream.findings.includes('curl CVE-2023-38546 undefined'), stream.findings.join('\n'));
  });

  it("Red Hat's VEX: unfixed and won't-fix statuses, by source package, per release", () => {
    const r = customs(['rootfs', rootfs('rhel', 'mariner'), '--format', 'json', '-q'], { env });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      os: { id: string; version: string };
      findings: Array<{
        id: string;
        status: string;
        fixedVersion?: string;
        package: { name: string; source?: { name: string } };
        severity: { level: string; source: string };
      }>;
    };
    assert.equal(`${result.os.id} ${result.os.version}`, 'rhel 9.4');
    // (CVE-2022-32221 is the RHSA sample's RHEL 9 fix.)
    const vex = result.findings.filter((f) => f.id !== 'CVE-2022-32221');
    const got = vex.map((f) => `${f.package.source?.name}/${f.package.name} ${f.id} ${f.status}`).sort();
    // Every binary rpm built from curl, and from bash.
    assert.ok(got.length >= 2, got.join('\n'));
    for (const g of got)
      assert.match(g, /^(curl\/\S+ CVE-2023-38546 will_not_fix|bash\/\S+ CVE-2022-3715 affected)$/);
    assert.ok(got.some((g) => g.startsWith('curl/curl ')));
    assert.ok(got.some((g) => g.startsWith('bash/bash ')));
    // Red Hat's impact rating is the severity; no fixed version for either.
    for (const f of vex) assert.equal(f.fixedVersion, undefined);
    assert.equal(result.findings.find((f) => f.id === 'CVE-2022-3715')!.severity.level, 'MEDIUM');
    // --ignore-unfixed leaves only the fixed one.
    const unfixed = customs(
      ['rootfs', rootfs('rhel', 'mariner'), '--format', 'json', '-q', '--ignore-unfixed'],
      {
        env,
      },
    );
    assert.deepEqual(
      JSON.parse(unfixed.stdout).findings.map((f: { id: string }) => f.id),
      ['CVE-2022-32221'],
    );
  });

  it('Oracle Linux 8 (ELSA from updateinfo.xml): its release by the rpm tag, bug fixes skipped', () => {
    const ol = scan(rootfs('oracle', 'mariner'));
    assert.equal(ol.os, 'ol 8.10');
    assert.deepEqual(ol.findings, ['curl CVE-2022-22576,CVE-2022-27775,ELSA-2099-9001 7.76.1-1.0.1.el8']);
    const show = customs(['db', 'show', 'ELSA-2099-9001', '--json'], { env });
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /Oracle Linux:8/);
    assert.equal(customs(['db', 'show', 'ELBA-2099-9003', '--json'], { env }).status === 0, false);
    assert.equal(elRelease('26.el9_3.2'), '9');
    assert.equal(elRelease('1.0.1.el8'), '8');
    assert.equal(elRelease('100.el7uek'), '7');
    assert.equal(elRelease('1.amzn2023.0.2'), undefined);
  });

  it('SUSE by service pack: SLES 15 SP3 takes SP3 advisories, not SP4 nor 15 GA', () => {
    const sles = scan(rootfs('sles', 'sles'));
    assert.equal(sles.os, 'sles 15.3');
    assert.deepEqual(sles.findings, ['libz1 CVE-2022-37434,SUSE-SU-2099:0001-1 1.2.11-150000.3.40.1']);
  });
});
