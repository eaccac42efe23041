import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, it } from 'node:test';
import { sourceTreeCatalogers } from '../../../src/catalog/index.js';
import { osFromRedhatRelease, OS_FILES } from '../../../src/catalog/os-release.js';
import {
  DISTROS,
  ECOSYSTEM_OF_PURL,
  ECOSYSTEMS,
  endOfLife,
  normalizePackageName,
  OSV_ECOSYSTEMS,
  RELEASE_FILES,
  rpmNamespace,
  SCHEME_OF_ECOSYSTEM,
  SCHEME_OF_PURL_TYPE,
  STATICALLY_LINKED,
} from '../../../src/ecosystems/index.js';
import { osTarget } from '../../../src/match/os-matcher.js';
import { importers } from '../../../src/vulndb/import.js';
import { SCHEMES, schemeForEcosystem } from '../../../src/versions/index.js';
import { ROOT } from '../../helpers/paths.js';

/*
 * The tables below are the hand-written ones the records replaced, as they were: what is derived
 * from the records now must say exactly the same.
 */
const OLD_ECOSYSTEM_OF_PURL = {
  npm: 'npm',
  pypi: 'PyPI',
  golang: 'Go',
  maven: 'Maven',
  cargo: 'crates.io',
  gem: 'RubyGems',
  composer: 'Packagist',
  nuget: 'NuGet',
  hex: 'Hex',
  pub: 'Pub',
  cran: 'CRAN',
};
const OLD_BY_ECOSYSTEM = {
  Alpine: 'apk',
  Wolfi: 'apk',
  Chainguard: 'apk',
  Debian: 'dpkg',
  Ubuntu: 'dpkg',
  AlmaLinux: 'rpm',
  'Rocky Linux': 'rpm',
  'Red Hat': 'rpm',
  SUSE: 'rpm',
  openSUSE: 'rpm',
  'Amazon Linux': 'rpm',
  Mariner: 'rpm',
  'Azure Linux': 'rpm',
  'Oracle Linux': 'rpm',
  'Photon OS': 'rpm',
  npm: 'semver',
  Go: 'semver',
  'crates.io': 'semver',
  Hex: 'semver',
  Pub: 'semver',
  PyPI: 'pep440',
  Maven: 'maven',
  RubyGems: 'rubygems',
  NuGet: 'nuget',
  Packagist: 'packagist',
  CRAN: 'cran',
  CPE: 'upstream',
  'Node.js': 'semver',
};
const OLD_BY_PURL_TYPE = {
  apk: 'apk',
  deb: 'dpkg',
  rpm: 'rpm',
  npm: 'semver',
  golang: 'semver',
  cargo: 'semver',
  hex: 'semver',
  pub: 'semver',
  pypi: 'pep440',
  maven: 'maven',
  gem: 'rubygems',
  nuget: 'nuget',
  composer: 'packagist',
  cran: 'cran',
};
const OLD_OSV_ECOSYSTEMS = [
  'Alpine',
  'Debian',
  'Ubuntu',
  'AlmaLinux',
  'Rocky Linux',
  'Red Hat',
  'SUSE',
  'openSUSE',
  'Wolfi',
  'Chainguard',
  'npm',
  'PyPI',
  'Maven',
  'Go',
  'crates.io',
  'RubyGems',
  'NuGet',
  'Packagist',
  'Hex',
  'Pub',
  'CRAN',
  'Azure Linux',
  'Photon OS',
  'Mageia',
  'openEuler',
  'Bitnami',
  'GitHub Actions',
];
const OLD_NAMESPACES = {
  rhel: 'redhat',
  amzn: 'amazon',
  ol: 'oracle',
  sles: 'suse',
  'sle-micro': 'suse',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
};
const OLD_RELEASE_FILES = [
  ['etc/almalinux-release', 'almalinux'],
  ['etc/rocky-release', 'rocky'],
  ['etc/oracle-release', 'ol'],
  ['etc/centos-release', 'centos'],
  ['etc/fedora-release', 'fedora'],
  ['etc/redhat-release', 'rhel'],
  ['etc/system-release', 'amzn'],
];

describe('ecosystems: the tables derived from the records are the hand tables they replaced', () => {
  it('purl type → OSV ecosystem, and statically linked types', () => {
    assert.deepEqual({ ...ECOSYSTEM_OF_PURL }, OLD_ECOSYSTEM_OF_PURL);
    assert.deepEqual([...STATICALLY_LINKED].sort(), ['cargo', 'golang']);
    assert.equal(ECOSYSTEM_OF_PURL.constructor, undefined, 'no inherited keys');
  });

  it('version scheme per OSV ecosystem and per purl type', () => {
    assert.deepEqual({ ...SCHEME_OF_ECOSYSTEM }, OLD_BY_ECOSYSTEM);
    assert.deepEqual({ ...SCHEME_OF_PURL_TYPE }, OLD_BY_PURL_TYPE);
    for (const [eco, name] of Object.entries(OLD_BY_ECOSYSTEM)) {
      assert.equal(schemeForEcosystem(`${eco}:1`), SCHEMES[name as keyof typeof SCHEMES]);
    }
    assert.equal(schemeForEcosystem('Mageia'), undefined, 'fetched, not matched');
    assert.equal(schemeForEcosystem('constructor'), undefined);
  });

  it("OSV's ecosystems (db update's fallback list): the same set", () => {
    assert.deepEqual([...OSV_ECOSYSTEMS].sort(), [...OLD_OSV_ECOSYSTEMS].sort());
    assert.equal(new Set(OSV_ECOSYSTEMS).size, OSV_ECOSYSTEMS.length);
  });

  it('name normalisation per ecosystem', () => {
    assert.equal(normalizePackageName('PyPI', 'Zope.Interface__x'), 'zope-interface-x');
    assert.equal(normalizePackageName('NuGet', 'Newtonsoft.Json'), 'newtonsoft.json');
    assert.equal(normalizePackageName('Packagist', 'Symfony/HTTP-Kernel'), 'symfony/http-kernel');
    assert.equal(normalizePackageName('crates.io', 'Serde_JSON'), 'serde-json');
    assert.equal(normalizePackageName('npm', 'Left_Pad'), 'Left_Pad');
    assert.equal(normalizePackageName('CRAN', 'Rcpp'), 'Rcpp');
    assert.equal(normalizePackageName('Debian:12', 'Foo_Bar'), 'Foo_Bar');
  });

  it('rpm namespaces, release files and their order, release names', () => {
    for (const [id, ns] of Object.entries(OLD_NAMESPACES)) assert.equal(rpmNamespace(id), ns);
    assert.equal(rpmNamespace('almalinux'), 'almalinux');
    assert.equal(rpmNamespace('mageia'), 'mageia');
    assert.deepEqual(RELEASE_FILES, OLD_RELEASE_FILES);
    for (const [f] of OLD_RELEASE_FILES) assert.ok(OS_FILES.has(f));
    assert.equal(osFromRedhatRelease('CentOS Stream release 9', 'centos', 'x')?.id, 'centos-stream');
    assert.equal(osFromRedhatRelease('CentOS Linux release 7.6.1810 (Core)', 'x', 'x')?.id, 'centos');
    assert.equal(osFromRedhatRelease('Red Hat Enterprise Linux release 9.3', 'x', 'x')?.id, 'rhel');
    assert.equal(osFromRedhatRelease('Amazon Linux release 2023', 'x', 'x')?.id, 'amzn');
    assert.equal(osFromRedhatRelease('Something release 1', 'fallback', 'x')?.id, 'fallback');
  });

  it('end of life by the keys each distro lists its releases under', () => {
    const now = new Date('2025-01-01');
    assert.equal(endOfLife('amzn', '2018.03', now)?.date, '2023-12-31');
    assert.equal(endOfLife('amzn', '2', now)?.date, '2026-06-30');
    assert.equal(endOfLife('mariner', '2.0.20240123', now)?.date, '2025-07-31');
    assert.equal(endOfLife('opensuse-leap', '15.5', now)?.date, '2024-12-31');
    assert.equal(endOfLife('rocky', '9.3', now)?.date, '2032-05-31');
    assert.equal(endOfLife('sles', '15.5', now), undefined);
    assert.equal(endOfLife('alpine', 'constructor', now), undefined);
  });

  it('OS targets: every distro with a feed, and only those', () => {
    const t = (id: string, version: string) => osTarget({ id, version, idLike: [], source: 'x' });
    for (const d of DISTROS) assert.equal(!!t(d.id, '1'), !!d.feed, d.id);
    assert.equal(t('centos', '7.9')?.ecoBase, 'Red Hat');
    assert.ok(t('centos-stream', '9')?.sourceKeyOf);
    assert.ok(t('rhel', '9.3')!.releaseMatches('enterprise_linux:9::appstream'));
    assert.ok(!t('rhel', '9.3')!.releaseMatches('enterprise_linux:8'));
    assert.ok(t('ubuntu', '22.04')!.releaseMatches('22.04:LTS'));
    assert.ok(t('sles', '15.3')!.releaseMatches('SUSE Linux Enterprise Server 15 SP3-LTSS'));
    assert.ok(!t('sles', '15.3')!.releaseMatches('SUSE Linux Enterprise Server 15'));
    assert.ok(t('amzn', '2018.03')!.releaseMatches('1'));
    assert.ok(t('mariner', '2.0')!.releaseMatches('2'));
    const deb = {
      name: 'libssl3',
      version: '3.0.11-1~deb12u2+b1',
      source: { name: 'openssl', version: '3.0.11-1~deb12u2' },
    };
    const pkg = { ...deb, type: 'deb', licenses: [], purl: 'x', foundBy: 'dpkg', locations: [] };
    assert.equal(t('debian', '12.4')!.keyOf(pkg), 'openssl');
    assert.equal(t('debian', '12.4')!.versionOf(pkg), '3.0.11-1~deb12u2');
    assert.equal(t('wolfi', '20230201')!.keyOf(pkg), 'openssl');
    assert.equal(t('almalinux', '9')!.keyOf(pkg), 'libssl3');
  });
});

describe('ecosystems: every key a record names is registered above it', () => {
  it('catalogers, and every cataloger belongs to an ecosystem (or is an OS package database)', () => {
    const registered = new Set(sourceTreeCatalogers.map((c) => c.name));
    const named = new Set(ECOSYSTEMS.flatMap((e) => e.catalogers));
    for (const n of named) assert.ok(registered.has(n), `cataloger ${n} is registered in catalog/index.ts`);
    for (const n of registered)
      assert.ok(named.has(n) || ['apk', 'dpkg', 'rpm'].includes(n), `cataloger ${n} has a record`);
  });

  it('importers', () => {
    const registered = new Set(importers.map((i) => i.name));
    const named = [
      ...ECOSYSTEMS.flatMap((e) => e.importers ?? []),
      ...DISTROS.flatMap((d) => d.feed?.importers ?? []),
    ];
    for (const n of named) assert.ok(registered.has(n), `importer ${n} is registered in vulndb/import.ts`);
  });

  it('every matched ecosystem has a cataloger (Hex and Pub had matching tables and none)', () => {
    assert.deepEqual(
      ECOSYSTEMS.filter((e) => e.purlType && e.scheme && e.catalogers.length === 0).map((e) => e.osv),
      [],
    );
  });
});

/** The imports of every .ts file under a folder of src/: [file, target folder or file]. */
function importsOf(folder: string): Array<[string, string]> {
  const src = join(ROOT, 'src');
  const out: Array<[string, string]> = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
          const target = relative(src, resolve(dirname(p), m[1])).split('/');
          out.push([relative(src, p), target.length > 1 ? target[0] : '(root)']);
        }
      }
    }
  };
  walk(join(src, folder));
  return out;
}

describe('ecosystems: the stairs of the bottom floor go down', () => {
  // Each folder and what it may import: the floors below it (and src/'s plain root modules).
  const BELOW: Record<string, string[]> = {
    ecosystems: [],
    versions: ['ecosystems'],
    distro: ['ecosystems', 'versions'],
    catalog: ['ecosystems', 'image', '(root)'],
    vulndb: ['ecosystems', 'versions', 'catalog', 'image', '(root)'],
    match: ['ecosystems', 'versions', 'catalog', 'vulndb', '(root)'],
  };
  for (const [folder, allowed] of Object.entries(BELOW)) {
    it(`${folder}/ imports only ${allowed.join(', ') || 'itself'}`, () => {
      const up = importsOf(folder).filter(([, to]) => to !== folder && !allowed.includes(to));
      assert.deepEqual(up, []);
    });
  }
});
