/**
 * The bottom floor: what Customs knows about each ecosystem and each distribution, as plain
 * records. Every table the rooms above used to keep by hand (purl type ↔ OSV ecosystem, version
 * order, name normalisation, purl namespaces, release files, end of life, OSV's list) is derived
 * from these records in ./index.ts. Nothing here imports anything else of src/.
 *
 * A record names the code that lives higher up (a version comparator, a cataloger, an importer)
 * by key instead of importing it: the stairs go down, and the higher layer's own registry
 * (versions/index.ts, catalog/index.ts, vulndb/import.ts) looks the key up. A test checks every
 * key a record names is registered there (test/unit/ecosystems/ecosystems.test.ts).
 */

/** Version orders by name; versions/index.ts maps each to its comparator (a typed, complete map). */
export type SchemeName =
  | 'apk'
  | 'dpkg'
  | 'rpm'
  | 'semver'
  | 'pep440'
  | 'maven'
  | 'rubygems'
  | 'nuget'
  | 'packagist'
  | 'cran'
  | 'upstream';

/** A language ecosystem, or a feed's own ecosystem (CPE, Node.js). */
export interface Ecosystem {
  /** The ecosystem's name in OSV and in the database (the part before any `:`). */
  osv: string;
  /** The purl type of its installed packages; none for a feed-only ecosystem. */
  purlType?: string;
  /** Its version order; none: its advisories are fetched but not matched (OSV importer skips them). */
  scheme?: SchemeName;
  /** As the ecosystem compares names (PEP 503 for PyPI…); absent: names compare as written. */
  normalizeName?(name: string): string;
  /**
   * Compiled into binaries (Go, Rust): such code stays vulnerable whatever the distro's package
   * of that library says, so it is matched even inside an OS package.
   */
  staticallyLinked?: boolean;
  /** OSV publishes it (one zip per ecosystem): `db update` fetches it (OSV_ECOSYSTEMS). */
  osvFeed?: boolean;
  /** Importers (by name, vulndb/import.ts) that fill it besides or instead of OSV. */
  importers?: string[];
  /**
   * A product found in binaries (by the binary classifiers) that this feed covers, preferred over
   * NVD's CPE ranges once the database holds it (Node.js's security data for `node`).
   */
  ownFeedFor?: string;
  /** Catalogers (by name, catalog/index.ts) that find its packages; [] = matching only. */
  catalogers: string[];
}

/** The OS package formats, each with its version order. */
export type OsPackageType = 'apk' | 'deb' | 'rpm';

/** Where a distribution's advisories are and how its packages are looked up in them. */
export interface DistroFeed {
  /** The ecosystem (OSV name) its advisories are stored under. */
  ecosystem: string;
  /** Older names of that ecosystem still met in feeds (CBL-Mariner's `Mariner`). */
  formerNames?: string[];
  /** Whether an advisory's release (`v3.18`, `12`, `22.04:LTS`) applies to this OS version. */
  releaseMatches(release: string, osVersion: string): boolean;
  /** The name advisories key a package by: its source package (Alpine, Debian…) or its own name. */
  key: 'source' | 'name';
  /** The version compared with the ranges: the package's own, or its source's (Debian's binNMUs). */
  version: 'own' | 'source';
  /** The feed also keys some rows by source package (Red Hat's VEX, `component: source`). */
  sourceRows?: boolean;
  /** OSV publishes this ecosystem (fetched by `db update` from OSV's bucket). */
  osv?: boolean;
  /** Importers (by name, vulndb/import.ts) for its own feeds. */
  importers?: string[];
}

export interface Distro {
  /** os-release ID, as catalog/os-release.ts refines it (centos-stream, sle-micro…). */
  id: string;
  packageType: OsPackageType;
  /** purl namespace of its rpm packages where it differs from the ID (rhel → redhat). */
  namespace?: string;
  /**
   * Red Hat family: the release file under etc/ that names the product (`Rocky Linux release
   * 9.3`), and the product name it starts with, lower case. The list order is the order files
   * are tried in (rocky-release before redhat-release, which Rocky also ships).
   */
  releaseFile?: { path?: string; name: string };
  /** os-release's VERSION_ID is refined from the release file (7 → 7.6.1810). */
  refinedByReleaseFile?: boolean;
  /** Its advisory feed; none: packages are catalogued but not matched (with a warning). */
  feed?: DistroFeed;
  /** End of security support per release (published lifecycle page). */
  eol?: Record<string, string>;
  /** The keys under which a version is looked up in `eol`, in order (default: the major). */
  eolKeys?(version: string): string[];
}
