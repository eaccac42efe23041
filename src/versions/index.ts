import { apkScheme } from './apk.js';
import { cranScheme } from './cran.js';
import { dpkgScheme } from './dpkg.js';
import { mavenScheme } from './maven.js';
import { nugetScheme } from './nuget.js';
import { packagistScheme } from './packagist.js';
import { pep440Scheme } from './pep440.js';
import { rpmScheme } from './rpm.js';
import { rubygemsScheme } from './rubygems.js';
import type { VersionScheme } from './scheme.js';
import { semverScheme } from './semver.js';
import { upstreamScheme } from '../match/cpe.js';

export type { VersionScheme } from './scheme.js';

/** Which version ordering an OSV ecosystem (the part before any `:`) uses; one line per ecosystem. */
const BY_ECOSYSTEM: Record<string, VersionScheme> = {
  Alpine: apkScheme,
  Wolfi: apkScheme,
  Chainguard: apkScheme,
  Debian: dpkgScheme,
  Ubuntu: dpkgScheme,
  AlmaLinux: rpmScheme,
  'Rocky Linux': rpmScheme,
  'Red Hat': rpmScheme,
  SUSE: rpmScheme,
  openSUSE: rpmScheme,
  'Amazon Linux': rpmScheme,
  Mariner: rpmScheme,
  'Azure Linux': rpmScheme,
  'Oracle Linux': rpmScheme,
  'Photon OS': rpmScheme,
  npm: semverScheme,
  Go: semverScheme,
  'crates.io': semverScheme,
  Hex: semverScheme,
  Pub: semverScheme,
  PyPI: pep440Scheme,
  Maven: mavenScheme,
  RubyGems: rubygemsScheme,
  NuGet: nugetScheme,
  Packagist: packagistScheme,
  CRAN: cranScheme,
  // NVD's CPE ranges for components found in binaries (src/match/cpe.ts).
  CPE: upstreamScheme,
  // Node.js's security-wg data (src/vulndb/importers/nodejs.ts).
  'Node.js': semverScheme,
};

export function schemeForEcosystem(ecosystem: string): VersionScheme | undefined {
  return BY_ECOSYSTEM[ecosystem.split(':')[0]];
}

/** Which version ordering an installed package's purl type uses. */
const BY_PURL_TYPE: Record<string, VersionScheme> = {
  apk: apkScheme,
  deb: dpkgScheme,
  rpm: rpmScheme,
  npm: semverScheme,
  golang: semverScheme,
  cargo: semverScheme,
  hex: semverScheme,
  pub: semverScheme,
  pypi: pep440Scheme,
  maven: mavenScheme,
  gem: rubygemsScheme,
  nuget: nugetScheme,
  composer: packagistScheme,
  cran: cranScheme,
};

export function schemeForPurlType(type: string): VersionScheme | undefined {
  return BY_PURL_TYPE[type];
}
