import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { apkCataloger, parseApkDb } from '../../../src/catalog/apk.js';
import { dpkgCataloger, parseCopyright, parseDpkgStatus } from '../../../src/catalog/dpkg.js';
import type { CatalogContext } from '../../../src/catalog/model.js';
import { detectOs } from '../../../src/catalog/os-release.js';
import { evr, parseRpmdb, parseSourceRpm, rpmCataloger } from '../../../src/catalog/rpm/index.js';
import { fsFromFiles, parseTxtar, readTree } from '../../helpers/fs.js';
import { shared } from '../../helpers/paths.js';

const fx = (...p: string[]) => shared('fixtures', ...p);
const json = (...p: string[]) => JSON.parse(readFileSync(fx(...p), 'utf8'));

async function ctxOf(files: Record<string, string | Buffer>): Promise<CatalogContext> {
  const fs = fsFromFiles(files);
  return { fs, os: await detectOs(fs), warnings: [] };
}

describe('apk', () => {
  it('parses a real installed db exactly as the peer expects (trivy apk fixture)', () => {
    const exp = json('apk/trivy-apk-installed/apk.expected.json').cases[0].wantPkgs as Array<
      Record<string, unknown>
    >;
    const got = parseApkDb(readFileSync(fx('apk/trivy-apk-installed/apk'), 'utf8'));
    assert.equal(got.length, exp.length);
    for (const w of exp) {
      const g = got.find((r) => r.name === w.Name && r.version === w.Version);
      assert.ok(g, `${w.ID} found`);
      assert.equal(g.origin ?? g.name, w.SrcName);
      assert.equal(g.arch, w.Arch);
      assert.equal(g.maintainer, w.Maintainer);
      assert.deepEqual(g.files, w.InstalledFiles ?? []);
    }
  });

  it('keeps metadata (syft single fixture)', () => {
    const exp = json('apk/syft-apk/single.expected.json').cases[0].expected;
    const [g] = parseApkDb(readFileSync(fx('apk/syft-apk/single'), 'utf8'));
    assert.equal(g.name, exp.Name);
    assert.equal(g.version, exp.Version);
    assert.equal(g.origin, exp.Metadata.OriginPackage);
    assert.equal(g.installedSize, exp.Metadata.InstalledSize);
    assert.deepEqual(g.depends, exp.Metadata.Dependencies);
    assert.deepEqual(g.provides, exp.Metadata.Provides);
    assert.equal(g.license, 'MIT BSD GPL2+');
  });

  it('a corrupt line is reported and the rest kept', async () => {
    const problems: string[] = [];
    const recs = parseApkDb(readFileSync(fx('apk/syft-apk/corrupt/lib/apk/db/installed'), 'utf8'), problems);
    assert.ok(recs.length > 0);
    assert.match(problems[0], /line 1 is not a "K:value" field/);
  });

  it('garbage is a clear error', () => {
    assert.throws(() => parseApkDb('\u0000\u0001garbage\n'), /corrupt apk database/);
  });

  it('catalogs with purls, licences split, source = origin', async () => {
    const ctx = await ctxOf({
      'etc/os-release': 'ID=alpine\nVERSION_ID=3.12.0\n',
      'lib/apk/db/installed': readFileSync(fx('apk/syft-apk/single')),
    });
    const [p] = await apkCataloger.catalog(ctx);
    assert.equal(p.purl, 'pkg:apk/alpine/musl-utils@1.1.24-r2?arch=x86_64&distro=3.12.0&upstream=musl');
    assert.deepEqual(p.licenses, ['MIT', 'BSD', 'GPL2+']);
    assert.deepEqual(p.source, { name: 'musl', version: '1.1.24-r2' });
    assert.equal(p.locations[0].path, '/lib/apk/db/installed');
  });
});

describe('dpkg', () => {
  for (const name of ['valid', 'corrupsed', 'only-apt', 'third-party', 'md5sums', 'digest']) {
    it(`${name}.txtar matches the peer's package list (ids, source packages)`, () => {
      const files = parseTxtar(readFileSync(fx(`dpkg/trivy-dpkg/${name}.txtar`), 'utf8'));
      const exp = json(`dpkg/trivy-dpkg/${name}.txtar.expected.json`).cases[0].want.PackageInfos[0]
        .Packages as Array<Record<string, unknown>>;
      const problems: string[] = [];
      const got = parseDpkgStatus(files['var/lib/dpkg/status'], true, problems);
      const ids = (rs: Array<{ name: string; version: string }>) =>
        rs.map((r) => `${r.name}@${r.version}`).sort();
      assert.deepEqual(ids(got), exp.map((p) => p.ID as string).sort());
      for (const w of exp) {
        const g = got.find((r) => `${r.name}@${r.version}` === w.ID)!;
        const srcVersion = `${w.SrcEpoch ? `${w.SrcEpoch}:` : ''}${w.SrcVersion}${w.SrcRelease ? `-${w.SrcRelease}` : ''}`;
        assert.equal(g.sourceName, w.SrcName, `${w.ID} source name`);
        assert.equal(g.sourceVersion, srcVersion, `${w.ID} source version`);
        assert.equal(g.arch, w.Arch);
      }
    });
  }

  it('status.d (distroless): one file per package, no Status field (syft multiple)', () => {
    const exp = json('dpkg/syft-dpkg/var/lib/dpkg/status.d/multiple.expected.json').cases[0]
      .expected as Array<Record<string, unknown>>;
    const problems: string[] = [];
    const got = parseDpkgStatus(
      readFileSync(fx('dpkg/syft-dpkg/var/lib/dpkg/status.d/multiple'), 'utf8'),
      false,
      problems,
    );
    const withVersion = exp.filter((e) => e.Version);
    assert.deepEqual(
      got.map((g) => g.name),
      withVersion.map((e) => e.Package),
    );
    assert.equal(got[0].sourceName, withVersion[0].Source);
    assert.match(problems.join(), /no-version: no Version/);
  });

  it('a distroless image folder: status.d packages with licences from copyright', async () => {
    const ctx = await ctxOf(readTree(fx('dpkg/syft-dpkg/image-distroless-deb')));
    const pkgs = await dpkgCataloger.catalog(ctx);
    assert.deepEqual(
      pkgs.map((p) => p.name),
      ['libsqlite3-0'],
    );
    assert.equal(pkgs[0].locations[0].path, '/var/lib/dpkg/status.d/libsqlite3-0');
    assert.ok(pkgs[0].licenses.length > 0);
  });

  it('copyright licences match the peer (syft)', () => {
    for (const name of ['libaudit-common', 'liblzma5']) {
      const exp = json(`dpkg/syft-dpkg/copyright/${name}.expected.json`).cases[0].expected as string[];
      assert.deepEqual(parseCopyright(readFileSync(fx(`dpkg/syft-dpkg/copyright/${name}`), 'utf8')), exp);
    }
  });

  it('purl with distro and upstream source', async () => {
    const ctx = await ctxOf({
      'etc/os-release': 'ID=debian\nVERSION_ID="12"\n',
      'etc/debian_version': '12.4',
      'var/lib/dpkg/status':
        'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n',
    });
    const [p] = await dpkgCataloger.catalog(ctx);
    assert.equal(p.purl, 'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12&upstream=glibc');
    assert.deepEqual(p.source, { name: 'glibc', version: '2.36-9+deb12u4' });
  });
});

describe('rpm (all three database formats)', () => {
  // rpm -qa output of the image itself: epoch¶name¶version¶release¶arch¶srpm¶size¶license¶vendor¶summary¶sigmd5
  function groundTruth(csv: string) {
    return readFileSync(fx(csv), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [epoch, name, version, release, arch, sourceRpm, size, license, vendor, summary, sigmd5] =
          l.split('¶');
        const none = (v: string) => (v === '' || v === '(none)' ? undefined : v);
        return {
          epoch: none(epoch) ? Number(epoch) : undefined,
          name,
          version,
          release,
          arch: none(arch),
          sourceRpm: none(sourceRpm),
          size: Number(size),
          license: none(license),
          vendor: none(vendor),
          summary,
          sigmd5: none(sigmd5),
        };
      });
  }
  for (const [db, csv] of [
    ['rpm/amazonlinux2023-sqlite/rpmdb.sqlite', 'rpm/amazonlinux2023-sqlite/packages.csv'],
    ['rpm/sle15-bci-ndb/Packages.db', 'rpm/sle15-bci-ndb/packages.csv'],
  ]) {
    it(`${db}: every field equals the image's own rpm -qa`, () => {
      const got = parseRpmdb(readFileSync(fx(db)));
      const want = groundTruth(csv);
      assert.equal(got.length, want.length);
      for (const w of want) {
        const g = got.find(
          (r) => r.name === w.name && r.version === w.version && r.release === w.release && r.arch === w.arch,
        );
        assert.ok(g, `${w.name} found`);
        for (const k of ['epoch', 'sourceRpm', 'size', 'license', 'vendor', 'summary', 'sigmd5'] as const) {
          // rpm -q prints "(none)" for an absent tag; gpg-pubkey headers also store it literally.
          const g1: unknown = g[k] === '(none)' ? undefined : g[k];
          assert.equal(g1, w[k], `${w.name} ${k}`);
        }
      }
    });
  }

  it('Berkeley DB hash (RHEL 8 libuuid)', () => {
    const [want] = json('rpm/libuuid-bdb/expected.json').packages;
    const [g] = parseRpmdb(readFileSync(fx('rpm/libuuid-bdb/Packages')));
    assert.deepEqual(
      {
        name: g.name,
        epoch: g.epoch ?? null,
        version: g.version,
        release: g.release,
        arch: g.arch,
        sourceRpm: g.sourceRpm,
        license: g.license,
        vendor: g.vendor,
        size: g.size,
        sigmd5: g.sigmd5,
      },
      want,
    );
  });

  it('Berkeley DB hash (syft dive fixture)', () => {
    const exp = json('rpm/syft-rpm/Packages.expected.json').cases[0].expected[0];
    const [g] = parseRpmdb(readFileSync(fx('rpm/syft-rpm/Packages')));
    assert.equal(`${g.name} ${evr(g)}`, `${exp.Name} ${exp.Version}`);
  });

  it('SQLite (CBL-Mariner curl, files included)', () => {
    const want = json('rpm/cbl-mariner-2.0-sqlite/curl.json');
    const g = parseRpmdb(readFileSync(fx('rpm/cbl-mariner-2.0-sqlite/rpmdb.sqlite'))).find(
      (r) => r.name === 'curl',
    )!;
    assert.equal(g.version, want.Version);
    assert.equal(g.release, want.Release);
    assert.equal(g.sigmd5, want.SigMD5);
    assert.deepEqual(
      g.files,
      want.BaseNames.map((b: string, i: number) => want.DirNames[want.DirIndexes[i]] + b),
    );
  });

  it('corrupt databases are clear errors', () => {
    assert.throws(() => parseRpmdb(Buffer.from('not a database at all')), /not an rpm database/);
    const sqlite = readFileSync(fx('rpm/amazonlinux2023-sqlite/rpmdb.sqlite'));
    assert.throws(() => parseRpmdb(sqlite.subarray(0, 8192)), /corrupt rpm SQLite database/);
    const ndb = Buffer.from(readFileSync(fx('rpm/sle15-bci-ndb/Packages.db')));
    assert.throws(() => parseRpmdb(ndb.subarray(0, 5000)), /corrupt rpm NDB database/);
  });

  it('source rpm names', () => {
    assert.deepEqual(parseSourceRpm('util-linux-2.32.1-42.el8_8.src.rpm'), {
      name: 'util-linux',
      version: '2.32.1',
      release: '42.el8_8',
    });
  });

  it('catalogs from any database location, with purls', async () => {
    const ctx = await ctxOf({
      'etc/os-release': 'ID="amzn"\nVERSION_ID="2023"\n',
      'usr/lib/sysimage/rpm/rpmdb.sqlite': readFileSync(fx('rpm/amazonlinux2023-sqlite/rpmdb.sqlite')),
    });
    const pkgs = await rpmCataloger.catalog(ctx);
    assert.equal(pkgs.length, 102, 'gpg-pubkey is not a package');
    const p = pkgs.find((x) => x.name === 'crypto-policies')!;
    assert.equal(
      p.purl,
      'pkg:rpm/amazon/crypto-policies@20220428-1.gitdfb10ea.amzn2023.0.2?arch=noarch&distro=amzn-2023&upstream=crypto-policies-20220428-1.gitdfb10ea.amzn2023.0.2.src.rpm',
    );
    assert.deepEqual(p.source, { name: 'crypto-policies', version: '20220428-1.gitdfb10ea.amzn2023.0.2' });
  });
});
