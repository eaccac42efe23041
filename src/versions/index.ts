import { SCHEME_OF_ECOSYSTEM, SCHEME_OF_PURL_TYPE, type SchemeName } from '../ecosystems/index.js';
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
import { upstreamScheme } from './upstream.js';

export type { VersionScheme } from './scheme.js';

/**
 * Every version order, by the name the ecosystem and distro records use (src/ecosystems/): the
 * records sit below this folder and name a scheme instead of importing it. Typed as a complete
 * map, so a scheme a record names and nobody registered does not compile.
 */
export const SCHEMES: Record<SchemeName, VersionScheme> = {
  apk: apkScheme,
  dpkg: dpkgScheme,
  rpm: rpmScheme,
  semver: semverScheme,
  pep440: pep440Scheme,
  maven: mavenScheme,
  rubygems: rubygemsScheme,
  nuget: nugetScheme,
  packagist: packagistScheme,
  cran: cranScheme,
  // NVD's CPE ranges for components found in binaries (src/match/cpe.ts).
  upstream: upstreamScheme,
};

/** Which version ordering an OSV ecosystem (the part before any `:`) uses. */
export function schemeForEcosystem(ecosystem: string): VersionScheme | undefined {
  const name = SCHEME_OF_ECOSYSTEM[ecosystem.split(':')[0]];
  return name ? SCHEMES[name] : undefined;
}

/** Which version ordering an installed package's purl type uses. */
export function schemeForPurlType(type: string): VersionScheme | undefined {
  const name = SCHEME_OF_PURL_TYPE[type];
  return name ? SCHEMES[name] : undefined;
}
