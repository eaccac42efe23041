import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { catalogImage } from '../../src/catalog/index.js';
import { npmLicenses, parsePackageJson } from '../../src/catalog/npm.js';
import { parsePythonMetadata } from '../../src/catalog/python.js';
import type { LayerContent } from '../../src/image/model.js';
import { dockerArchive, makeTar } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

const fx = (...p: string[]) => shared('fixtures', ...p);
const json = (...p: string[]) => JSON.parse(readFileSync(fx(...p), 'utf8'));

describe("Python core metadata against a peer's expectations (trivy dist-metadata)", () => {
  const dir = fx('pypi/trivy-dist-metadata');
  for (const f of readdirSync(dir).filter((n) => !n.endsWith('.expected.json'))) {
    it(f, () => {
      const c = json('pypi/trivy-dist-metadata', `${f}.expected.json`).cases[0];
      const got = parsePythonMetadata(readFileSync(`${dir}/${f}`, 'utf8'));
      if (c.wantErr) {
        assert.equal(got, undefined);
        return;
      }
      const [want] = c.want ?? c.wantPkgs;
      assert.equal(got?.name, want.Name);
      assert.equal(got?.version, want.Version);
      // Licences: ours drop the "UNKNOWN" placeholder and trivy's file:// pointer to a licence file.
      const expected = (want.Licenses ?? []).filter(
        (l: string) => l !== 'UNKNOWN' && !l.startsWith('file://'),
      );
      assert.deepEqual(got?.licenses, expected);
    });
  }
});

describe("npm package.json against a peer's expectations (trivy package-json)", () => {
  const dir = fx('npm/trivy-package-json');
  for (const f of readdirSync(dir).filter((n) => !n.endsWith('.expected.json'))) {
    it(f, () => {
      const c = json('npm/trivy-package-json', `${f}.expected.json`).cases[0];
      const got = parsePackageJson(readFileSync(`${dir}/${f}`, 'utf8'));
      const want = c.want?.Package;
      if (c.wantErr || !want?.Name || !want?.Version) {
        // Errors, and manifests without a name or version, are not installed packages.
        assert.ok('error' in got, `${f} is rejected`);
        return;
      }
      assert.ok(!('error' in got), JSON.stringify(got));
      assert.equal(got.name, want.Name);
      assert.equal(got.version, want.Version);
      assert.deepEqual(got.licenses, want.Licenses ?? []);
    });
  }
  it('licence shapes: string, {type}, legacy arrays', () => {
    assert.deepEqual(npmLicenses('MIT'), ['MIT']);
    assert.deepEqual(npmLicenses({ type: 'ISC' }), ['ISC']);
    assert.deepEqual(npmLicenses(undefined, [{ type: 'MIT' }, { type: 'Apache-2.0' }]), [
      'MIT',
      'Apache-2.0',
    ]);
  });
});

describe('language packages in an image, and their owners', () => {
  it('npm (scoped, nested) and Python (dist-info, egg-info file) are found; files a dpkg package installed are owned', async () => {
    const file = (content: string) => ({
      type: 'file' as const,
      size: content.length,
      mode: 0o644,
      content: Buffer.from(content),
    });
    const files = new Map([
      ['etc/os-release', file('ID=debian\nVERSION_ID="12"\n')],
      [
        'var/lib/dpkg/status',
        file(
          'Package: python3-urllib3\nStatus: install ok installed\nArchitecture: all\nVersion: 1.26.12-1+deb12u1\n',
        ),
      ],
      [
        'var/lib/dpkg/info/python3-urllib3.list',
        file(
          '/.\n/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info\n/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO\n',
        ),
      ],
      [
        'usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO',
        file('Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.12\nLicense: MIT\n'),
      ],
      [
        'usr/local/lib/python3.11/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO',
        file('Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.12\nLicense: MIT\n'),
      ],
      ['app/node_modules/lodash/package.json', file('{"name":"lodash","version":"4.17.15","license":"MIT"}')],
      ['app/node_modules/@babel/core/package.json', file('{"name":"@babel/core","version":"7.14.6"}')],
      [
        'app/node_modules/a/node_modules/minimist/package.json',
        file('{"name":"minimist","version":"1.2.5"}'),
      ],
      ['app/node_modules/lodash/test/fixtures/package.json', file('{"name":"fixture"}')],
    ]);
    const layer: LayerContent = { info: { index: 0 }, files, whiteouts: new Set(), opaqueDirs: new Set() };
    const inv = await catalogImage({
      metadata: {
        target: 't',
        kind: 'rootfs',
        name: 't',
        repoTags: [],
        labels: {},
        history: [],
        layers: [{ index: 0 }],
        warnings: [],
      },
      layers: [layer],
    });
    const lang = inv.packages.filter((p) => p.type === 'npm' || p.type === 'pypi');
    assert.deepEqual(
      lang.map((p) => `${p.purl} ${p.ownedBy ?? '-'}`).sort(),
      [
        'pkg:npm/%40babel/core@7.14.6 -',
        'pkg:npm/lodash@4.17.15 -',
        'pkg:npm/minimist@1.2.5 -',
        'pkg:pypi/urllib3@1.26.12 -',
        'pkg:pypi/urllib3@1.26.12 pkg:deb/debian/python3-urllib3@1.26.12-1%2Bdeb12u1?arch=all&distro=debian-12'.replace(
          '%2B',
          '+',
        ),
      ].sort(),
    );
  });
});

describe('Go build info', () => {
  it('reads the Go 1.18+ inline format: Go version, main module, dependencies, replacements', async () => {
    const { parseBuildInfo, goBuildInfoProbe } = await import('../../src/catalog/golang.js');
    const varint = (n: number) => {
      const out: number[] = [];
      do {
        out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
        n >>>= 7;
      } while (n);
      return Buffer.from(out);
    };
    const str = (s: string) => Buffer.concat([varint(Buffer.byteLength(s)), Buffer.from(s)]);
    const sentinel = Buffer.alloc(16, 0x30);
    const mod = [
      'path\texample.com/app',
      'mod\texample.com/app\tv1.2.3\th1:x',
      'dep\tgolang.org/x/text\tv0.3.6\th1:y',
      'dep\tgithub.com/old/lib\tv1.0.0',
      '=>\tgithub.com/new/lib\tv1.1.0\th1:z',
      'build\tGOOS=linux',
      '',
    ].join('\n');
    const header = Buffer.concat([
      Buffer.from('\xff Go buildinf:', 'latin1'),
      Buffer.from([8, 2]),
      Buffer.alloc(16),
    ]);
    const blob = Buffer.concat([
      header,
      str('go1.21.5'),
      str(`${sentinel.toString('latin1')}${mod}${sentinel.toString('latin1')}`),
    ]);
    const info = parseBuildInfo(blob)!;
    assert.equal(info.goVersion, 'go1.21.5');
    assert.deepEqual(info.main, { path: 'example.com/app', version: 'v1.2.3' });
    assert.deepEqual(
      info.deps.map((d) => [d.path, d.version, d.replacedBy?.path]),
      [
        ['golang.org/x/text', 'v0.3.6', undefined],
        ['github.com/old/lib', 'v1.0.0', 'github.com/new/lib'],
      ],
    );
    assert.equal(info.settings.GOOS, 'linux');
    // The probe finds it in an ELF file streamed in small chunks, across chunk borders.
    const elf = Buffer.concat([
      Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
      Buffer.alloc(70_000, 1),
      blob,
      Buffer.alloc(5000),
    ]);
    const probe = goBuildInfoProbe.create('usr/bin/app');
    for (let i = 0; i < elf.length; i += 4093) probe.push(elf.subarray(i, i + 4093));
    assert.equal((probe.finish() as { goVersion: string }).goVersion, 'go1.21.5');
    // Not an executable format: nothing.
    const text = goBuildInfoProbe.create('usr/bin/app');
    text.push(Buffer.concat([Buffer.from('#!/bin/sh\n'), blob]));
    assert.equal(text.finish(), undefined);
  });
});

describe("package-lock.json v1/v2/v3 against a peer's expectations (trivy npm lock)", () => {
  const dir = fx('npm/trivy-npm-lock');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json') && !n.endsWith('.expected.json'))) {
    it(f, async () => {
      const { parsePackageLock } = await import('../../src/catalog/npm-lock.js');
      const want = (json('npm/trivy-npm-lock', `${f}.expected.json`).cases[0].want ?? []) as Array<{
        ID: string;
        Dev?: boolean;
      }>;
      const got = parsePackageLock(readFileSync(`${dir}/${f}`, 'utf8'));
      const id = (p: { name: string; version: string }) => (p.version ? `${p.name}@${p.version}` : p.name);
      assert.deepEqual(
        got.map((p) => `${id(p)} dev=${p.dev}`).sort(),
        want.map((w) => `${w.ID} dev=${!!w.Dev}`).sort(),
      );
    });
  }
});

describe("Python requirements files and Pipfile.lock against a peer's expectations", () => {
  const dir = fx('pypi/trivy-requirements-txt');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.txt'))) {
    it(f, async (t) => {
      const { parseRequirements } = await import('../../src/catalog/python-locks.js');
      const c = json('pypi/trivy-requirements-txt', `${f}.expected.json`).cases[0];
      // The peer's optional "minimum version of a range" mode is not ours: a range pins no version.
      if (c.useMinVersion) return t.skip('ranges are not pinned versions');
      const got = parseRequirements(readFileSync(`${dir}/${f}`));
      assert.deepEqual(
        got.map((p) => `${p.name}@${p.version}`).sort(),
        (c.want ?? []).map((w: { Name: string; Version: string }) => `${w.Name}@${w.Version}`).sort(),
      );
    });
  }
  const pdir = fx('pypi/trivy-pipfile-lock');
  for (const f of readdirSync(pdir).filter((n) => n.endsWith('.lock'))) {
    it(f, async () => {
      const { parsePipfileLock } = await import('../../src/catalog/python-locks.js');
      const c = json('pypi/trivy-pipfile-lock', `${f}.expected.json`).cases[0];
      const got = parsePipfileLock(readFileSync(`${pdir}/${f}`, 'utf8'));
      const want = (c.want ?? c.wantPkgs) as Array<{ Name: string; Version: string; Dev?: boolean }>;
      // The peer reports the default section only; develop packages are ours in addition, flagged dev.
      assert.deepEqual(
        got
          .filter((p) => !p.dev)
          .map((p) => `${p.name}@${p.version}`)
          .sort(),
        want.map((w) => `${w.Name}@${w.Version}`).sort(),
      );
    });
  }
});

describe("yarn.lock (classic and berry) against a peer's expectations (trivy yarn lock)", () => {
  const dir = fx('npm/trivy-yarn-lock');
  for (const f of readdirSync(dir).filter(
    (n) => n.endsWith('.lock') && readdirSync(dir).includes(`${n}.expected.json`),
  )) {
    it(f, async () => {
      const { parseYarnLock } = await import('../../src/catalog/yarn-lock.js');
      const want = (json('npm/trivy-yarn-lock', `${f}.expected.json`).cases[0].want ?? []) as Array<{
        ID: string;
      }>;
      const got = parseYarnLock(readFileSync(`${dir}/${f}`, 'utf8'));
      assert.deepEqual(got.map((p) => `${p.name}@${p.version}`).sort(), want.map((w) => w.ID).sort());
    });
  }
});

describe("Gradle and sbt lockfiles against a peer's expectations (trivy)", () => {
  for (const [folder, ext, parser] of [
    ['maven/trivy-gradle-lockfile', '.lockfile', 'parseGradleLockfile'],
    ['maven/trivy-sbt-lockfile', '.sbt.lock', 'parseSbtLock'],
  ] as const) {
    const dir = fx(folder);
    for (const f of readdirSync(dir).filter((n) => n.endsWith(ext))) {
      it(`${folder}/${f}`, async () => {
        const mod = await import('../../src/catalog/java/lockfiles.js');
        const want = (json(folder, `${f}.expected.json`).cases[0].want ?? []) as Array<{
          Name: string;
          Version: string;
          Dev?: boolean;
        }>;
        const got = mod[parser](readFileSync(`${dir}/${f}`, 'utf8'));
        // sbt: the peer leaves test-only dependencies out; ours are kept, flagged dev.
        const dev = folder.includes('gradle');
        assert.deepEqual(
          got
            .filter((p) => dev || !p.dev)
            .map((p) => `${p.name}@${p.version}${dev ? ` dev=${!!p.dev}` : ''}`)
            .sort(),
          want.map((w) => `${w.Name}@${w.Version}${dev ? ` dev=${!!w.Dev}` : ''}`).sort(),
        );
      });
    }
  }
});

describe('PECL extensions in an official PHP image layout', () => {
  it('the registry entry pecl install leaves is a pear package of its channel, with its licence', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'customs-pecl-'));
    try {
      const reg = readFileSync(shared('fixtures/packagist/syft-php/memcached-v6-format.reg'));
      const layer = await makeTar([
        { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
        { name: 'usr/local/lib/php/.registry/.channel.pecl.php.net/memcached.reg', content: reg },
        // A v5 entry names no channel: its folder does.
        {
          name: 'usr/local/lib/php/.registry/.channel.pecl.php.net/old.reg',
          content: readFileSync(shared('fixtures/packagist/syft-php/memcached-v5-format.reg'))
            .toString('latin1')
            .replace('s:9:"memcached"', 's:3:"old"'),
        },
      ]);
      const img = join(tmp, 'php.tar');
      writeFileSync(img, await dockerArchive({ layers: [layer] }));
      const r = customs(['sbom', img, '--format', 'json']);
      assert.equal(r.status, 0, r.stderr);
      const pear = JSON.parse(r.stdout).packages.filter((p: { type: string }) => p.type === 'pear');
      assert.deepEqual(
        pear.map((p: { purl: string; licenses: string[] }) => `${p.purl} ${p.licenses.join()}`).sort(),
        ['pkg:pear/pecl.php.net/memcached@3.2.0 PHP License', 'pkg:pear/pecl.php.net/old@3.2.0 PHP License'],
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
