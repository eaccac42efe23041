import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { dockerArchive, makeTar, ociLayout } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

let tmp: string;
const targets: Record<string, string> = {};
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-sbom-'));
  targets.alpine = shared('images/docker-archive/trivy-alpine-311.tar.gz');
  // An rpm image: Amazon Linux 2023's real database with its os-release.
  const rpmLayer = await makeTar([
    {
      name: 'etc/os-release',
      content:
        'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023"\n',
    },
    { name: 'usr/lib/sysimage/rpm/', type: 'directory' },
    {
      name: 'usr/lib/sysimage/rpm/rpmdb.sqlite',
      content: readFileSync(shared('fixtures/rpm/amazonlinux2023-sqlite/rpmdb.sqlite')),
    },
    { name: 'var/lib/rpm', type: 'symlink', linkname: '../../usr/lib/sysimage/rpm' },
  ]);
  targets.rpm = join(tmp, 'amzn.tar');
  writeFileSync(targets.rpm, await dockerArchive({ layers: [rpmLayer], tag: 'amazonlinux:2023' }));
  // A distroless-style Debian image: status.d and copyright files only.
  const base = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.16.9-x86_64.tar.gz')));
  const deb = await makeTar([
    { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Distroless"\n' },
    {
      name: 'var/lib/dpkg/status.d/libsqlite3-0',
      content: readFileSync(
        shared('fixtures/dpkg/syft-dpkg/image-distroless-deb/var/lib/dpkg/status.d/libsqlite3-0'),
      ),
    },
    {
      name: 'usr/share/doc/libsqlite3-0/copyright',
      content: readFileSync(
        shared('fixtures/dpkg/syft-dpkg/image-distroless-deb/usr/share/doc/libsqlite3-0/copyright'),
      ),
    },
  ]);
  targets.layered = join(tmp, 'layered-oci');
  ociLayout(targets.layered, {
    layers: [base, deb],
    createdBy: ['ADD rootfs /', 'COPY status.d /var/lib/dpkg/status.d'],
  });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('SBOMs are valid against the official schemas and say what the image holds', () => {
  for (const name of ['alpine', 'rpm', 'layered']) {
    it(`${name}: CycloneDX 1.6`, () => {
      const out = join(tmp, `${name}.cdx.json`);
      const r = customs(['sbom', targets[name], '--format', 'cyclonedx', '--output', out]);
      assert.equal(r.status, 0, r.stderr);
      const bom = JSON.parse(readFileSync(out, 'utf8'));
      assert.deepEqual(schemaErrors('cyclonedx-1.6', bom), []);
      assert.equal(bom.metadata.component.type, 'container');
      const libs = bom.components.filter((c: { type: string }) => c.type === 'library');
      assert.ok(libs.length > 0);
      for (const c of libs) {
        assert.match(c.purl, /^pkg:(apk|deb|rpm)\//);
        assert.ok(
          c.properties.some((p: { name: string }) => p.name === 'customs:layer:diffId'),
          `${c.name} has its layer`,
        );
      }
      assert.equal(bom.components.filter((c: { type: string }) => c.type === 'operating-system').length, 1);
    });
    it(`${name}: SPDX 2.3`, () => {
      const r = customs(['sbom', targets[name], '--format', 'spdx']);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.deepEqual(schemaErrors('spdx-2.3', doc), []);
      const ids = new Set(doc.packages.map((p: { SPDXID: string }) => p.SPDXID));
      assert.equal(ids.size, doc.packages.length, 'SPDXIDs are unique');
      for (const rel of doc.relationships) assert.ok(ids.has(rel.relatedSpdxElement));
      for (const p of doc.packages) {
        if (p.primaryPackagePurpose !== 'LIBRARY') continue;
        assert.equal(p.externalRefs[0].referenceType, 'purl');
        for (const ref of p.licenseDeclared.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) {
          assert.ok(
            doc.hasExtractedLicensingInfos.some((e: { licenseId: string }) => e.licenseId === ref),
            `${ref} is declared`,
          );
        }
      }
    });
  }

  it('alpine 3.11 CycloneDX: the 14 packages with purls as the purl spec writes them', () => {
    const bom = JSON.parse(customs(['sbom', targets.alpine, '--format', 'cyclonedx']).stdout);
    const libs = bom.components.filter((c: { type: string }) => c.type === 'library');
    assert.equal(libs.length, 14);
    const bb = libs.find((c: { name: string }) => c.name === 'busybox');
    assert.equal(bb.purl, 'pkg:apk/alpine/busybox@1.31.1-r9?arch=x86_64&distro=3.11.5');
    assert.deepEqual(bb.licenses, [{ license: { id: 'GPL-2.0-only' } }]);
    const os = bom.components.find((c: { type: string }) => c.type === 'operating-system');
    assert.deepEqual([os.name, os.version], ['alpine', '3.11.5']);
  });

  it('rpm image: 102 packages through the /var/lib/rpm symlink, read once', () => {
    const inv = JSON.parse(customs(['sbom', targets.rpm, '--format', 'json']).stdout);
    assert.equal(inv.os.id, 'amzn');
    assert.equal(inv.packages.length, 102);
    assert.ok(
      inv.packages.every(
        (p: { locations: Array<{ path: string }> }) =>
          p.locations[0].path === '/usr/lib/sysimage/rpm/rpmdb.sqlite',
      ),
    );
  });

  it('layered image: the dpkg package comes from layer 2 and its COPY step; the apk ones from layer 1', () => {
    const inv = JSON.parse(customs(['sbom', targets.layered, '--format', 'json']).stdout);
    const deb = inv.packages.find((p: { type: string }) => p.type === 'deb');
    assert.equal(deb.layer.index, 1);
    assert.equal(deb.layer.createdBy, 'COPY status.d /var/lib/dpkg/status.d');
    assert.ok(
      inv.packages
        .filter((p: { type: string }) => p.type === 'apk')
        .every((p: { layer: { index: number } }) => p.layer.index === 0),
    );
  });

  it('the default table names package, version, type and layer step', () => {
    const r = customs(['sbom', targets.alpine]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /PACKAGE\s+VERSION\s+TYPE\s+LAYER/);
    assert.match(r.stdout, /busybox\s+1\.31\.1-r9\s+apk\s+beee9f30bc1f ADD file:0c4555f3/);
  });
});
