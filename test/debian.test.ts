import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { catalogImage, wantedBy } from '../src/catalog/index.js';
import { openImage } from '../src/image/open.js';
import { ociLayout } from './helpers/image-writer.js';
import { cacheDir } from './helpers/paths.js';
import { customs, has } from './helpers/run.js';
import { schemaErrors } from './helpers/schemas.js';

// A real Debian root filesystem made by debootstrap (cached in .cache/, which git ignores).
let rootfs = '';
let why = '';
before(() => {
  const dir = cacheDir('debian-bookworm');
  rootfs = join(dir, 'rootfs');
  if (existsSync(join(dir, 'done'))) return;
  if (!has('debootstrap')) {
    why = 'debootstrap is not installed (.ci/run installs it)';
    return;
  }
  rmSync(rootfs, { recursive: true, force: true });
  const r = spawnSync(
    'debootstrap',
    ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian'],
    { encoding: 'utf8', timeout: 8 * 60_000 },
  );
  if (r.status !== 0) {
    why = `debootstrap could not make a Debian root filesystem (Debian mirror unreachable?): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
    return;
  }
  writeFileSync(join(dir, 'done'), '');
});

/** dpkg's own view of the installed packages: the ground truth. */
function dpkgQuery(): string[] {
  const r = spawnSync(
    'dpkg-query',
    [
      `--admindir=${join(rootfs, 'var/lib/dpkg')}`,
      '-W',
      '-f=${db:Status-Status} ${Package} ${Version} ${source:Package} ${source:Version}\n',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('installed '))
    .map((l) => l.slice('installed '.length))
    .sort();
}

describe('a Debian bookworm root filesystem from debootstrap', () => {
  it('as a folder: every dpkg package with its source package, as dpkg-query says', async (t) => {
    if (why) return t.skip(why);
    const inv = await catalogImage(await openImage(rootfs, { wants: wantedBy() }));
    assert.equal(inv.os?.id, 'debian');
    assert.match(inv.os!.version, /^12\.\d+$/);
    const got = inv.packages
      .map((p) => `${p.name} ${p.version} ${p.source?.name} ${p.source?.version}`)
      .sort();
    if (has('dpkg-query')) assert.deepEqual(got, dpkgQuery());
    assert.ok(got.length > 80);
    const libc = inv.packages.find((p) => p.name === 'libc6')!;
    assert.equal(libc.source?.name, 'glibc');
    assert.ok(libc.licenses.length > 0, 'licences from the copyright file');
    assert.ok(
      libc.files?.includes('/lib/x86_64-linux-gnu/libc.so.6') ||
        libc.files?.some((f) => f.endsWith('/libc.so.6')),
    );
  });

  it('as an image: same packages, valid SBOMs', async (t) => {
    if (why) return t.skip(why);
    const dir = cacheDir('debian-bookworm');
    const layout = join(dir, 'oci');
    if (!existsSync(join(layout, 'index.json'))) {
      const tar = spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', '-', '.'], {
        maxBuffer: 1 << 30,
      });
      assert.equal(tar.status, 0);
      ociLayout(layout, { layers: [tar.stdout], compress: 'none', tag: 'debian:bookworm' });
    }
    const inv = await catalogImage(await openImage(`oci:${layout}`, { wants: wantedBy() }));
    if (has('dpkg-query'))
      assert.deepEqual(
        inv.packages.map((p) => `${p.name} ${p.version} ${p.source?.name} ${p.source?.version}`).sort(),
        dpkgQuery(),
      );
    for (const format of ['cyclonedx', 'spdx'] as const) {
      const r = customs(['sbom', `oci:${layout}`, '--format', format]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(
        schemaErrors(format === 'cyclonedx' ? 'cyclonedx-1.6' : 'spdx-2.3', JSON.parse(r.stdout)),
        [],
      );
    }
    assert.ok(readFileSync(join(rootfs, 'etc/debian_version'), 'utf8').startsWith('12.'));
  });
});
