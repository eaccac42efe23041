import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import { distroOf } from '../ecosystems/index.js';
import { schemeForEcosystem, type VersionScheme } from '../versions/index.js';

/**
 * Where an OS package's advisories live: the distro's own ecosystem and release in the feeds, the
 * name the feed keys on (source package for Alpine/Debian/Ubuntu), and which installed version
 * to compare. OS packages are never matched by CPE or against another distro's data.
 */
export interface OsTarget {
  ecoBase: string;
  releaseMatches(release: string): boolean;
  /** The name advisories use for this package. */
  keyOf(pkg: Package): string;
  /**
   * Where the feed also keys some rows by source package (Red Hat's VEX statuses, marked
   * `component: source`), the source name to look those up under.
   */
  sourceKeyOf?(pkg: Package): string | undefined;
  /** The version to compare with the feed's ranges. */
  versionOf(pkg: Package): string;
  scheme: VersionScheme;
  packageType: string;
}

/**
 * The target of an OS release, from its distro record (src/ecosystems/distros/): the record says
 * which feed, which releases, and which name and version of a package the feed keys.
 */
export function osTarget(os: OsInfo | undefined): OsTarget | undefined {
  const feed = os ? distroOf(os.id)?.feed : undefined;
  if (!os || !feed) return undefined;
  const packageType = distroOf(os.id)!.packageType;
  return {
    ecoBase: feed.ecosystem,
    packageType,
    releaseMatches: (r) => feed.releaseMatches(r, os.version),
    keyOf: feed.key === 'source' ? (p) => p.source?.name ?? p.name : (p) => p.name,
    ...(feed.sourceRows ? { sourceKeyOf: (p: Package) => p.source?.name } : {}),
    versionOf: feed.version === 'source' ? (p) => p.source?.version ?? p.version : (p) => p.version,
    scheme: schemeForEcosystem(feed.ecosystem)!,
  };
}
