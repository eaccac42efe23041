import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseApkDb } from '../../src/catalog/apk.js';
import { catalogImage, wantedBy } from '../../src/catalog/index.js';
import { LayeredFileSystem } from '../../src/image/filesystem.js';
import { openImage } from '../../src/image/open.js';
import { cleanStep } from '../../src/sbom/model.js';
import { dockerArchive, makeTar, ociLayout, sha256 } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';

const wants = wantedBy();
let tmp: string;
before(() => (tmp = mkdtempSync(join(tmpdir(), 'customs-image-'))));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('real docker save archives', () => {
  it("alpine 3.11 matches the peer's expectation (OS, layer diff_id, 14 packages)", async () => {
    const exp = JSON.parse(
      readFileSync(shared('images/docker-archive/trivy-alpine-311.tar.gz.expected.json'), 'utf8'),
    ).cases[0];
    const blob = exp.wantBlobs[0].BlobInfo;
    const img = await openImage(shared('images/docker-archive/trivy-alpine-311.tar.gz'), { wants });
    const inv = await catalogImage(img);
    assert.equal(img.metadata.kind, 'docker-archive');
    assert.equal(inv.os?.id, 'alpine');
    assert.equal(inv.os?.version, blob.OS.Name);
    assert.equal(img.metadata.layers[0].diffId, blob.DiffID);
    assert.equal(cleanStep(img.metadata.layers[0].createdBy!), blob.CreatedBy.trim());
    const want = blob.PackageInfos[0].Packages as Array<{ Name: string; Version: string; SrcName: string }>;
    assert.deepEqual(
      inv.packages.map((p) => `${p.name}@${p.version}`).sort(),
      want.map((p) => `${p.Name}@${p.Version}`).sort(),
    );
    for (const p of inv.packages) {
      assert.equal(p.layer?.diffId, blob.DiffID);
      assert.equal(p.source?.name, want.find((w) => w.Name === p.name)!.SrcName);
    }
    assert.equal(inv.os?.eol?.endOfLife, true);
  });

  it('alpine 3.10: gzip-compressed archive, 14 packages', async () => {
    const img = await openImage(`docker-archive:${shared('images/docker-archive/trivy-alpine-310.tar.gz')}`, {
      wants,
    });
    const inv = await catalogImage(img);
    assert.equal(inv.os?.version, '3.10.4');
    assert.equal(inv.packages.length, 14);
    assert.deepEqual(img.metadata.repoTags, ['alpine:3.10']);
  });
});

describe('every Alpine minirootfs wrapped into images', () => {
  const dir = shared('images/alpine');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.tar.gz'))) {
    const version = /minirootfs-([\d.]+)-/.exec(f)![1];
    it(`${version}: docker archive and OCI layout list exactly lib/apk/db/installed`, async () => {
      const layer = gunzipSync(readFileSync(join(dir, f)));
      // Ground truth read by the system tar, independently of our reader.
      const db = execFileSync('tar', ['-xzOf', join(dir, f), './lib/apk/db/installed'], { encoding: 'utf8' });
      const want = parseApkDb(db)
        .map((r) => `${r.name}@${r.version}`)
        .sort();
      const archive = join(tmp, `alpine-${version}.tar`);
      writeFileSync(
        archive,
        await dockerArchive({ layers: [layer], createdBy: [`/bin/sh -c #(nop) ADD file:${f} in / `] }),
      );
      const layout = join(tmp, `alpine-${version}-oci`);
      ociLayout(layout, { layers: [layer] });
      for (const target of [`docker-archive:${archive}`, `oci:${layout}`]) {
        const img = await openImage(target, { wants });
        const inv = await catalogImage(img);
        assert.equal(inv.os?.id, 'alpine');
        assert.ok(
          version.startsWith(inv.os!.version.split('.').slice(0, 2).join('.')),
          `${inv.os?.version} ~ ${version}`,
        );
        assert.deepEqual(inv.packages.map((p) => `${p.name}@${p.version}`).sort(), want, target);
        for (const p of inv.packages) assert.equal(p.layer?.diffId, sha256(layer));
      }
    });
  }
});

describe('docker archive in the layout Docker 25+ writes (OCI layout + manifest.json)', () => {
  it('reads through manifest.json, with repo tags, and agrees with the OCI view', async () => {
    const layer = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.14.10-x86_64.tar.gz')));
    const dir = join(tmp, 'docker25');
    ociLayout(dir, { layers: [layer], compress: 'none' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const m = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
    const blob = (d: string) => `blobs/sha256/${d.slice(7)}`;
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([
        {
          Config: blob(m.config.digest),
          RepoTags: ['alpine:3.14'],
          Layers: m.layers.map((l: { digest: string }) => blob(l.digest)),
        },
      ]),
    );
    const archive = join(tmp, 'docker25.tar');
    execFileSync('tar', ['-C', dir, '-cf', archive, 'oci-layout', 'index.json', 'manifest.json', 'blobs']);
    const img = await openImage(archive, { wants });
    assert.equal(img.metadata.kind, 'docker-archive');
    assert.deepEqual(img.metadata.repoTags, ['alpine:3.14']);
    assert.equal(img.metadata.configDigest, m.config.digest);
    assert.equal(img.metadata.layers[0].digest, m.layers[0].digest);
    const inv = await catalogImage(img);
    assert.equal(inv.os?.version, '3.14.10');
    const viaOci = await catalogImage(await openImage(`oci-archive:${archive}`, { wants }));
    assert.deepEqual(
      inv.packages.map((p) => p.purl),
      viaOci.packages.map((p) => p.purl),
    );
  });
});

describe('layers: whiteouts, opaque dirs, links and attribution', () => {
  it('applies layers in order and ties each package to the layer that added it', async () => {
    const base = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.12.12-x86_64.tar.gz')));
    const db = execFileSync(
      'tar',
      ['-xzOf', shared('images/alpine/alpine-minirootfs-3.12.12-x86_64.tar.gz'), './lib/apk/db/installed'],
      { encoding: 'utf8' },
    );
    const extra = 'P:customs-extra\nV:1.0-r0\nA:x86_64\nL:MIT\no:customs-extra\n\n';
    const l2 = await makeTar([
      { name: 'lib/apk/db/installed', content: db.trimEnd() + '\n\n' + extra },
      { name: 'etc/motd', content: 'changed\n' },
      { name: 'etc/.wh.hostname', content: '' },
      { name: 'app/', type: 'directory' },
      { name: 'app/data.txt', content: 'v1' },
      { name: 'app/keep.txt', content: 'keep' },
    ]);
    const l3 = await makeTar([
      { name: 'app/', type: 'directory' },
      { name: 'app/.wh..wh..opq', content: '' },
      { name: 'app/new.txt', content: 'v2' },
      { name: 'etc/link-to-motd', type: 'symlink', linkname: '../../../../etc/motd' },
      { name: 'etc/hard-motd', type: 'link', linkname: 'etc/motd' },
    ]);
    const layout = join(tmp, 'layers-oci');
    ociLayout(layout, {
      layers: [base, l2, l3],
      createdBy: ['ADD rootfs', '/bin/sh -c apk add customs-extra', 'COPY app /app'],
    });
    const img = await openImage(layout, {
      wants: (p) => wants(p) || p.startsWith('etc/') || p.startsWith('app/'),
    });
    const fs = new LayeredFileSystem(img.layers);
    assert.equal(fs.exists('etc/hostname'), false, 'whiteout removed the file');
    assert.deepEqual(fs.list('app'), ['new.txt'], 'opaque dir hid the lower layer');
    assert.equal((await fs.readFile('etc/motd'))?.toString(), 'changed\n');
    assert.equal(
      (await fs.readFile('/etc/link-to-motd'))?.toString(),
      'changed\n',
      'symlink climbing past / stays in the image',
    );
    assert.equal((await fs.readFile('etc/hard-motd'))?.toString(), 'changed\n', 'hard link');
    const inv = await catalogImage(img);
    const extraPkg = inv.packages.find((p) => p.name === 'customs-extra')!;
    assert.equal(extraPkg.layer?.index, 1);
    assert.equal(extraPkg.layer?.createdBy, '/bin/sh -c apk add customs-extra');
    const busybox = inv.packages.find((p) => p.name === 'busybox')!;
    assert.equal(busybox.layer?.index, 0);
    assert.equal(busybox.layer?.diffId, sha256(base));
  });

  it('zstd layers', { skip: !has('zstd') && 'zstd not installed' }, async () => {
    const base = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.20.3-x86_64.tar.gz')));
    const layout = join(tmp, 'zstd-oci');
    ociLayout(layout, { layers: [base], compress: 'none' });
    // Recompress the one layer blob with zstd and rewrite the manifest to point at it.
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const mPath = join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7));
    const manifest = JSON.parse(readFileSync(mPath, 'utf8'));
    const zst = execFileSync('zstd', ['-q', '-c', '-3'], { input: base, maxBuffer: 1 << 28 });
    writeFileSync(join(layout, 'blobs/sha256', sha256(zst).slice(7)), zst);
    manifest.layers[0] = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd',
      digest: sha256(zst),
      size: zst.length,
    };
    const mBuf = Buffer.from(JSON.stringify(manifest));
    writeFileSync(join(layout, 'blobs/sha256', sha256(mBuf).slice(7)), mBuf);
    index.manifests[0].digest = sha256(mBuf);
    index.manifests[0].size = mBuf.length;
    writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
    const inv = await catalogImage(await openImage(layout, { wants }));
    assert.equal(inv.os?.version, '3.20.3');
    assert.ok(inv.packages.length >= 14);
  });
});

describe('OCI layouts from a peer (stereoscope)', () => {
  const oci = (...p: string[]) => shared('images/stereoscope/oci', ...p);
  it('valid layout and the same image as an OCI archive agree', async () => {
    const a = await openImage(oci('valid_oci_dir'), { wants });
    const b = await openImage(oci('valid-oci.tar'), { wants });
    assert.equal(a.metadata.kind, 'oci-layout');
    assert.equal(b.metadata.kind, 'oci-archive');
    assert.equal(a.metadata.manifestDigest, b.metadata.manifestDigest);
    assert.deepEqual(
      a.metadata.layers.map((l) => l.diffId),
      b.metadata.layers.map((l) => l.diffId),
    );
  });

  it('multi-platform index: --platform picks, the default is the host, unknown ones are listed', async () => {
    const amd = await openImage(oci('multiplatform_oci_dir'), {
      wants,
      platform: { os: 'linux', architecture: 'amd64' },
    });
    assert.equal(amd.metadata.architecture, 'amd64');
    const r = customs([
      'sbom',
      oci('multiplatform_oci_dir'),
      '--platform',
      'linux/s390x',
      '--format',
      'json',
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no image for platform linux\/s390x; available: linux\/amd64, linux\/arm64/);
    const arm = customs([
      'sbom',
      oci('multiplatform_oci_dir'),
      '--platform',
      'linux/arm64',
      '--format',
      'json',
    ]);
    assert.equal(arm.status, 0, arm.stderr);
    assert.equal(JSON.parse(arm.stdout).image.architecture, 'arm64');
  });

  it('broken layouts are clear errors', () => {
    const r1 = customs(['sbom', oci('no_manifests')]);
    assert.equal(r1.status, 1);
    assert.match(r1.stderr, /no_manifests: index\.json lists no manifests\n$/);
    const r2 = customs(['sbom', oci('invalid_file')]);
    assert.equal(r2.status, 1);
    assert.match(r2.stderr, /invalid_file: /);
    assert.doesNotMatch(r2.stderr, /\n\s+at /, 'no stack trace');
  });
});
