import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { customs } from '../helpers/run.js';

// Feeds keyed differently from the installed packages: Wolfi advisories name the origin package,
// CRAN advisories a purl type that had no ecosystem. Small advisories of our own, in OSV's format.

let tmp: string;
let db: string;
const osv = (id: string, ecosystem: string, name: string, fixed: string, aliases: string[] = []) =>
  JSON.stringify({
    schema_version: '1.6.0',
    id,
    modified: '2026-11-01T00:00:00Z',
    aliases,
    affected: [
      {
        package: { ecosystem, name },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
      },
    ],
  });

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-feedmatch-'));
  db = join(tmp, 'customs.db');
  const adv = join(tmp, 'advisories');
  mkdirSync(adv);
  writeFileSync(
    join(adv, 'CGA-0001.json'),
    osv('CGA-0001', 'Wolfi', 'openssl', '3.0.8-r0', ['CVE-2023-0286']),
  );
  writeFileSync(join(adv, 'RSEC-2099-1.json'), osv('RSEC-2099-1', 'CRAN', 'jsonlite', '1.8.8'));
  const r = customs(['db', 'import', adv, '--db', db]);
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('advisories keyed by origin or by a newer ecosystem', () => {
  it("Wolfi: subpackages (libssl3) match their origin's advisory (openssl)", () => {
    const root = join(tmp, 'wolfi');
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'lib/apk/db'), { recursive: true });
    writeFileSync(join(root, 'etc/os-release'), 'ID=wolfi\nNAME="Wolfi"\nVERSION_ID=20230201\n');
    writeFileSync(
      join(root, 'lib/apk/db/installed'),
      ['libssl3', 'libcrypto3', 'openssl']
        .map((p) => `P:${p}\nV:3.0.7-r0\nA:x86_64\no:openssl\n`)
        .concat('P:busybox\nV:1.36.0-r0\nA:x86_64\no:busybox\n')
        .join('\n') + '\n',
    );
    const r = customs(['rootfs', root, '--db', db, '--format', 'json', '-q']);
    assert.equal(r.status, 0, r.stderr);
    const found = JSON.parse(r.stdout).findings.map(
      (f: { id: string; package: { name: string } }) => `${f.id} ${f.package.name}`,
    );
    assert.deepEqual(found.sort(), [
      'CVE-2023-0286 libcrypto3',
      'CVE-2023-0286 libssl3',
      'CVE-2023-0286 openssl',
    ]);
  });

  it('CRAN packages from an SBOM match CRAN advisories', () => {
    const sbom = join(tmp, 'r.cdx.json');
    writeFileSync(
      sbom,
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        version: 1,
        metadata: { component: { type: 'container', name: 'r-app' } },
        components: [
          {
            type: 'library',
            name: 'jsonlite',
            version: '1.8.0',
            purl: 'pkg:cran/jsonlite@1.8.0',
            'bom-ref': 'a',
          },
          {
            type: 'library',
            name: 'jsonlite2',
            version: '1.8.0',
            purl: 'pkg:cran/jsonlite2@1.8.0',
            'bom-ref': 'b',
          },
        ],
      }),
    );
    const r = customs(['sbom-scan', sbom, '--db', db, '--format', 'json', '-q']);
    assert.equal(r.status, 0, r.stderr);
    const f = JSON.parse(r.stdout).findings;
    assert.deepEqual(
      f.map((x: { id: string; package: { name: string }; fixedVersion: string }) => [
        x.id,
        x.package.name,
        x.fixedVersion,
      ]),
      [['RSEC-2099-1', 'jsonlite', '1.8.8']],
    );
  });
});
