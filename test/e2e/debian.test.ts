import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { catalogImage, wantedBy } from '../../src/catalog/index.js';
import { openImage } from '../../src/image/open.js';
import { ociLayout } from '../helpers/image-writer.js';
import { cacheDir, SHARED } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

// A real Debian root filesystem made by debootstrap (cached in .cache/, which git ignores), with
// Debian's Python packages (egg-info/dist-info installed by dpkg) and a Go binary (docker-registry).
const INCLUDE = 'python3-urllib3,python3-requests,docker-registry';
let rootfs = '';
let why = '';
before(() => {
  const dir = cacheDir('debian-bookworm-py');
  rootfs = join(dir, 'rootfs');
  if (existsSync(join(dir, 'done'))) return;
  if (!has('debootstrap')) {
    why = 'debootstrap is not installed (.ci/run installs it)';
    return;
  }
  rmSync(rootfs, { recursive: true, force: true });
  const r = spawnSync(
    'debootstrap',
    ['--variant=minbase', `--include=${INCLUDE}`, 'bookworm', rootfs, 'http://deb.debian.org/debian'],
    { encoding: 'utf8', timeout: 10 * 60_000 },
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
      .filter((p) => p.type === 'deb')
      .map((p) => `${p.name} ${p.version} ${p.source?.name} ${p.source?.version}`)
      .sort();
    if (has('dpkg-query')) assert.deepEqual(got, dpkgQuery());
    assert.ok(got.length > 80);
    // Debian's Python packages come from their egg-info/dist-info, linked to the dpkg package that installed them.
    const urllib3 = inv.packages.find((p) => p.type === 'pypi' && p.name === 'urllib3')!;
    assert.match(urllib3.version, /^1\.26\./);
    assert.match(urllib3.ownedBy ?? '', /^pkg:deb\/debian\/python3-urllib3@/);
    assert.ok(
      inv.packages.some(
        (p) => p.type === 'pypi' && p.name === 'requests' && p.ownedBy?.includes('python3-requests'),
      ),
    );
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
    const dir = cacheDir('debian-bookworm-py');
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
        inv.packages
          .filter((p) => p.type === 'deb')
          .map((p) => `${p.name} ${p.version} ${p.source?.name} ${p.source?.version}`)
          .sort(),
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

describe('scanning the Debian root filesystem against PyPI advisories', () => {
  it('Python packages dpkg installed are not matched against PyPI; the same egg-info installed by pip is', async (t) => {
    if (why) return t.skip(why);
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { makeTar } = await import('../helpers/image-writer.js');
    const work = mkdtempSync(join(tmpdir(), 'customs-debian-scan-'));
    try {
      const env = { CUSTOMS_DB: join(work, 'db', 'customs.db') };
      const imp = customs(
        ['db', 'import', join(SHARED, 'advisories/pypi-osv'), join(SHARED, 'advisories/go-osv'), '-q'],
        { env },
      );
      assert.equal(imp.status, 0, imp.stderr);
      const base = spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', '-', '.'], {
        maxBuffer: 1 << 30,
      }).stdout;
      // A second layer as `pip install urllib3==1.26.12` would leave it, owned by no OS package.
      const eggDir = readdirSync(join(rootfs, 'usr/lib/python3/dist-packages')).find((n) =>
        /^urllib3-.*\.(egg|dist)-info$/.test(n),
      )!;
      const egg = readdirSync(join(rootfs, 'usr/lib/python3/dist-packages', eggDir));
      const pip = await makeTar(
        egg.map((f) => ({
          name: `usr/local/lib/python3.11/dist-packages/${eggDir}/${f}`,
          content: readFileSync(join(rootfs, 'usr/lib/python3/dist-packages', eggDir, f)),
        })),
      );
      const layout = join(work, 'oci');
      ociLayout(layout, {
        layers: [base, pip],
        compress: 'none',
        createdBy: ['ADD rootfs /', 'RUN pip install urllib3==1.26.12'],
      });
      const r = customs(['image', `oci:${layout}`, '--format', 'json'], { env });
      assert.equal(r.status, 0, r.stderr);
      const scan = JSON.parse(r.stdout);
      const urllib3 = scan.findings.filter(
        (f: { package: { name: string } }) => f.package.name === 'urllib3',
      );
      assert.ok(urllib3.length > 0, 'the pip-installed copy is matched');
      for (const f of urllib3) {
        assert.equal(
          f.package.path.startsWith('/usr/local/lib/python3.11/dist-packages/'),
          true,
          'only the copy dpkg does not own',
        );
        assert.equal(f.package.layer.index, 1);
      }
      const ids = urllib3.flatMap((f: { id: string; aliases: string[] }) => [f.id, ...f.aliases]);
      assert.ok(ids.includes('CVE-2023-43804'), 'a urllib3 CVE fixed after 1.26.12 (in 1.26.17)');
      assert.equal(
        scan.findings.filter((f: { package: { name: string; path: string } }) =>
          f.package.path.startsWith('/usr/lib/python3/'),
        ).length,
        0,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
