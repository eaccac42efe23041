import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { catalogImage, wantedBy } from '../../src/catalog/index.js';
import { LayeredFileSystem } from '../../src/image/filesystem.js';
import { openImage } from '../../src/image/open.js';
import { cacheDir, shared } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';

// A real multi-layer image built by buildah from a Dockerfile: ADD a minirootfs, RUN steps that
// add, change and delete files (whiteouts) and append a package record, then a COPY.
const DOCKERFILE = `FROM scratch
ADD rootfs.tar.gz /
RUN mkdir -p /opt/app && echo one > /opt/app/a.txt && echo two > /opt/app/b.txt && rm /etc/motd
RUN rm -rf /opt/app && mkdir /opt/app && echo three > /opt/app/c.txt && printf 'P:customs-added\\nV:9.9-r0\\nA:x86_64\\nL:MIT\\no:customs-added\\n\\n' >> /lib/apk/db/installed
COPY Dockerfile /Dockerfile
`;

const LAYERS = `buildah-layers-${createHash('sha256').update(DOCKERFILE).digest('hex').slice(0, 12)}`;
const skip = !has('buildah') ? 'buildah is not installed (.ci/run installs it)' : false;
let dir: string;
let oci: string;
let archive: string;

// overlay makes the whiteouts Docker makes (an opaque dir for a replaced directory); vfs, the
// fallback where overlay is unavailable, writes one whiteout per removed file instead.
let driver = 'overlay';
function buildah(args: string[]): void {
  const store = cacheDir(`buildah-storage-${driver}`);
  const r = spawnSync(
    'buildah',
    ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', driver, ...args],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`buildah ${args[0]} failed: ${r.stderr}`);
}

describe('an image built by buildah from a Dockerfile', { skip }, () => {
  before(() => {
    dir = cacheDir(LAYERS);
    oci = join(dir, 'oci');
    archive = join(dir, 'image.tar');
    if (existsSync(join(dir, 'done'))) return;
    rmSync(oci, { recursive: true, force: true });
    rmSync(archive, { force: true });
    const ctx = join(dir, 'context');
    mkdirSync(ctx, { recursive: true });
    copyFileSync(shared('images/alpine/alpine-minirootfs-3.18.9-x86_64.tar.gz'), join(ctx, 'rootfs.tar.gz'));
    writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
    try {
      buildah(['bud', '--layers', '--isolation', 'chroot', '-t', 'customs-test/layers:1', ctx]);
    } catch {
      driver = 'vfs';
      buildah(['bud', '--layers', '--isolation', 'chroot', '-t', 'customs-test/layers:1', ctx]);
    }
    buildah(['push', 'customs-test/layers:1', `oci:${oci}`]);
    buildah(['push', 'customs-test/layers:1', `docker-archive:${archive}:customs-test/layers:1`]);
    writeFileSync(join(dir, 'done'), driver);
  });

  it('final view: deleted files gone, replaced dir holds only its new content', async () => {
    const img = await openImage(oci, {
      wants: (p) => wantedBy()(p) || p.startsWith('opt/') || p === 'Dockerfile',
    });
    assert.equal(img.metadata.layers.length, 4);
    const fs = new LayeredFileSystem(img.layers);
    assert.equal(fs.exists('etc/motd'), false);
    if (readFileSync(join(dir, 'done'), 'utf8') === 'overlay') {
      assert.ok(img.layers[2].opaqueDirs.has('opt/app'), 'the replaced directory is an opaque whiteout');
    }
    assert.deepEqual(fs.list('opt/app'), ['c.txt']);
    assert.equal((await fs.readFile('opt/app/c.txt'))?.toString(), 'three\n');
    assert.match((await fs.readFile('Dockerfile'))!.toString(), /^FROM scratch/);
  });

  for (const kind of ['oci', 'docker-archive'] as const) {
    it(`${kind}: each package's layer and history step`, async () => {
      const target = kind === 'oci' ? `oci:${oci}` : `docker-archive:${archive}`;
      const inv = await catalogImage(await openImage(target, { wants: wantedBy() }));
      const added = inv.packages.find((p) => p.name === 'customs-added')!;
      assert.equal(added.layer?.index, 2);
      assert.match(added.layer!.createdBy!, /printf 'P:customs-added/);
      const others = inv.packages.filter((p) => p.name !== 'customs-added');
      assert.ok(others.length >= 14);
      for (const p of others) {
        assert.equal(p.layer?.index, 0, `${p.name} came with the ADD`);
        assert.match(p.layer!.createdBy!, /ADD file:/);
      }
    });
  }

  it('the CLI table shows the Dockerfile step', () => {
    const r = customs(['sbom', archive]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /customs-added\s+9\.9-r0\s+apk\s+[0-9a-f]{12} RUN rm -rf \/opt\/app/);
  });
});

describe(
  'skopeo converts an OCI layout to a docker archive that reads the same',
  { skip: !has('skopeo') && 'skopeo is not installed' },
  () => {
    it('same packages and diff_ids', async () => {
      if (!existsSync(join(cacheDir(LAYERS), 'done'))) return;
      const out = join(cacheDir('skopeo'), 'from-oci.tar');
      rmSync(out, { force: true });
      const r = spawnSync(
        'skopeo',
        ['copy', `oci:${join(cacheDir(LAYERS), 'oci')}`, `docker-archive:${out}:customs/skopeo:1`],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const a = await catalogImage(await openImage(out, { wants: wantedBy() }));
      const b = await catalogImage(await openImage(join(cacheDir(LAYERS), 'oci'), { wants: wantedBy() }));
      assert.deepEqual(
        a.packages.map((p) => `${p.name}@${p.version}#${p.layer?.diffId}`),
        b.packages.map((p) => `${p.name}@${p.version}#${p.layer?.diffId}`),
      );
    });
  },
);
