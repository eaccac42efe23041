import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareUpstream, parseCpe } from '../../src/match/cpe.js';
import { cpeAffected } from '../../src/vulndb/importers/nvd.js';
import { nodeVerdict } from '../../src/vulndb/importers/nodejs.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// Components found in binaries, outside any package manager, matched through NVD's CPE ranges: a
// sample written in the NVD CVE API 2.0 format (test/fixtures/nvd/nvdcve-2.0-sample.json), an
// Alpine 3.7.3 root filesystem (its /bin/busybox belongs to the busybox apk) with a node 18.12.1
// binary, an OpenSSL 1.1.1k library and a copy of busybox that no package installed.
const FIXTURES = join(import.meta.dirname, '../../../test/fixtures');
const SAMPLE = join(FIXTURES, 'nvd/nvdcve-2.0-sample.json');
let tmp: string;
let env: Record<string, string>;
let root: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-cpe-'));
  env = { CUSTOMS_DB: join(tmp, 'customs.db') };
  root = join(tmp, 'rootfs');
  mkdirSync(root);
  spawnSync('tar', ['xzf', shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz'), '-C', root]);
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/local/lib'), { recursive: true });
  // What the classifiers read: the version strings these builds carry.
  writeFileSync(
    join(root, 'usr/local/bin/node'),
    Buffer.from('\x7fELF\x02\x01\x01\0…https://nodejs.org/download/release/node.js/v18.12.1\0'),
  );
  writeFileSync(
    join(root, 'usr/local/lib/libcrypto.so.1.1'),
    Buffer.from('\x7fELF…OpenSSL 1.1.1k  25 Mar 2021\0'),
  );
  copyFileSync(join(root, 'bin/busybox'), join(root, 'usr/local/bin/busybox'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('binary components matched by CPE (NVD 2.0)', () => {
  it('imports the CPE ranges of the products the classifiers know, and nothing else', () => {
    const r = customs(['db', 'import', SAMPLE], { env });
    assert.equal(r.status, 0, r.stderr);
    const show = customs(['db', 'show', 'CVE-2023-23918', '--json'], { env });
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /nodejs:node\.js/);
    // Not a product Customs identifies: its CVSS is kept, no CPE range.
    assert.doesNotMatch(customs(['db', 'show', 'CVE-2024-0001', '--json'], { env }).stdout, /example:widget/);
  });

  it('node, an OpenSSL library and an unowned busybox copy yield their CVEs; the apk-owned busybox does not', () => {
    const r = customs(['rootfs', root, '--format', 'json', '-q'], { env });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      findings: Array<{
        id: string;
        package: { name: string; version: string; path?: string; type: string };
        fixedVersion?: string;
        severity: { level: string };
      }>;
    };
    const got = result.findings
      .map(
        (f) =>
          `${f.package.name} ${f.package.version} ${f.package.path} ${f.id} ${f.fixedVersion} ${f.severity.level}`,
      )
      .sort();
    assert.deepEqual(got, [
      'busybox 1.27.2 /usr/local/bin/busybox CVE-2022-48174 1.35.0 CRITICAL',
      'node 18.12.1 /usr/local/bin/node CVE-2023-23918 18.14.1 CRITICAL',
      'openssl 1.1.1k /usr/local/lib/libcrypto.so.1.1 CVE-2021-3711 1.1.1l CRITICAL',
    ]);
  });

  it("node matched against Node.js's own security data instead, once the database holds it", () => {
    const r = customs(['db', 'import', join(FIXTURES, 'nodejs')], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /nodejs-security-wg: 2 imported/);
    const scan = customs(['rootfs', root, '--format', 'json', '-q'], { env });
    assert.equal(scan.status, 0, scan.stderr);
    const node = (
      JSON.parse(scan.stdout) as {
        findings: Array<{ id: string; aliases: string[]; package: { name: string }; fixedVersion?: string }>;
      }
    ).findings.filter((f) => f.package.name === 'node');
    // One finding, from the security-wg record (its id an alias); 18.12.1 already has the fix
    // of CVE-2022-43548.
    assert.deepEqual(
      node.map((f) => [f.id, f.aliases, f.fixedVersion]),
      [['CVE-2023-23918', ['NSWG-CORE-77'], '18.14.1']],
    );
    assert.deepEqual(nodeVerdict('19.6.0', { vulnerable: '19.x', patched: '>= 19.6.1' }), {
      affected: true,
      fixedVersion: '19.6.1',
    });
    assert.deepEqual(nodeVerdict('20.1.0', { vulnerable: '19.x', patched: '>= 19.6.1' }), {
      affected: false,
    });
  });

  it('reads CPE criteria and NVD version strings', () => {
    assert.deepEqual(parseCpe('cpe:2.3:a:nodejs:node.js:18.12.1:*:*:*:lts:*:*:*'), {
      part: 'a',
      product: 'nodejs:node.js',
      version: '18.12.1',
      update: '*',
    });
    assert.equal(parseCpe('cpe:2.3:a:foo\\:bar:baz:1.0:*:*:*:*:*:*:*')?.product, 'foo:bar:baz');
    assert.equal(parseCpe('cpe:/a:nodejs:node.js:18'), undefined);
    assert.deepEqual(
      cpeAffected([
        {
          nodes: [
            {
              operator: 'OR',
              cpeMatch: [
                { vulnerable: true, criteria: 'cpe:2.3:a:redis:redis:7.0.4:*:*:*:*:*:*:*' },
                { vulnerable: true, criteria: 'cpe:2.3:a:openssl:openssl:1.0.2:beta1:*:*:*:*:*:*' },
                { vulnerable: false, criteria: 'cpe:2.3:a:python:python:3.11.0:*:*:*:*:*:*:*' },
                {
                  vulnerable: true,
                  criteria: 'cpe:2.3:a:python:python:*:*:*:*:*:*:*:*',
                  versionEndIncluding: '3.11.4',
                },
              ],
            },
          ],
        },
      ]),
      [
        [
          'redis:redis',
          [{ type: 'ECOSYSTEM', events: [{ introduced: '7.0.4' }, { last_affected: '7.0.4' }] }],
        ],
        [
          'openssl:openssl',
          [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0.2beta1' }, { last_affected: '1.0.2beta1' }] }],
        ],
        [
          'python:python',
          [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '3.11.4' }] }],
        ],
      ],
    );
    const order = [
      '1.0.2beta1',
      '1.0.2rc1',
      '1.0.2',
      '1.0.2a',
      '1.1.1',
      '1.1.1k',
      '1.1.1l',
      '3.12.0a1',
      '3.12.0b2',
      '3.12.0rc1',
      '3.12.0',
      '18.12.1',
      '18.14.1',
    ];
    for (let i = 1; i < order.length; i++)
      assert.ok(compareUpstream(order[i - 1], order[i]) < 0, `${order[i - 1]} < ${order[i]}`);
    assert.equal(compareUpstream('2.4.57', '2.4.57'), 0);
  });
});
