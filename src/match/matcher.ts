import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import type { FindingStatus } from '../model/scan.js';
import { CPE_ECOSYSTEM, cpeNamesOf, ownFeedOf } from './cpe.js';
import { schemeForEcosystem, type VersionScheme } from '../versions/index.js';
import { fixedVersionsAbove, isAffected } from '../versions/ranges.js';
import type { AffectedRow, VulnStore } from '../vulndb/store.js';
import { osTarget } from './os-matcher.js';

/** One package matched by one advisory of one source. */
export interface RawMatch {
  pkg: Package;
  row: AffectedRow;
  status: FindingStatus;
  fixedVersion?: string;
  /** The version order the match used (to pick the lowest fix among sources). */
  scheme: VersionScheme;
}

export interface MatchOutput {
  matches: RawMatch[];
  /** Go matches none of whose vulnerable functions is in the binary, with the functions checked. */
  unreachable?: Array<RawMatch & { checked: string[] }>;
  /** Vulnerability ids a distro feed says do not affect a package (they override other sources). */
  notAffected: Map<Package, Set<string>>;
  warnings: string[];
}

/**
 * OS packages against their own distro release's advisories only, keyed as the feed keys them,
 * compared with the distro's version order, so backported fixes count.
 */
export function matchOsPackages(store: VulnStore, os: OsInfo | undefined, packages: Package[]): MatchOutput {
  const out: MatchOutput = { matches: [], notAffected: new Map(), warnings: [] };
  const target = osTarget(os);
  const osPkgs = packages.filter((p) => ['apk', 'deb', 'rpm'].includes(p.type));
  if (!target) {
    if (osPkgs.length)
      out.warnings.push(
        `no advisory feed covers ${os ? `${os.id} ${os.version}` : 'an unknown OS'}: its ${osPkgs.length} OS packages were not matched`,
      );
    return out;
  }
  const mine = osPkgs.filter((p) => p.type === target.packageType);
  const sourceKey = (p: Package) => target.sourceKeyOf?.(p);
  const rows = store.affectedFor(target.ecoBase, [
    ...new Set([...mine.map(target.keyOf), ...mine.map(sourceKey).filter((k): k is string => !!k)]),
  ]);
  // Rows a feed keys by source package apply to each binary package built from it.
  const bySource = (pkg: Package) => {
    const k = sourceKey(pkg);
    return k ? (rows.get(k) ?? []).filter((r) => r.databaseSpecific?.component === 'source') : [];
  };
  let releaseSeen = false;
  for (const pkg of mine) {
    const version = target.versionOf(pkg);
    const own = (rows.get(target.keyOf(pkg)) ?? []).filter((r) => r.databaseSpecific?.component !== 'source');
    for (const row of [...own, ...bySource(pkg)]) {
      if (!target.releaseMatches(row.ecoRelease)) continue;
      releaseSeen = true;
      if (row.status === 'not_affected') {
        let set = out.notAffected.get(pkg);
        if (!set) out.notAffected.set(pkg, (set = new Set()));
        set.add(row.id);
        continue;
      }
      if (!isAffected(version, row, target.scheme)) continue;
      if (row.status === 'will_not_fix' || row.status === 'end_of_life') {
        out.matches.push({ pkg, row, status: row.status, scheme: target.scheme });
        continue;
      }
      const fixes = fixedVersionsAbove(version, row, target.scheme);
      out.matches.push({
        pkg,
        row,
        status: fixes.length ? 'fixed' : 'affected',
        fixedVersion: fixes[0],
        scheme: target.scheme,
      });
    }
  }
  if (!releaseSeen && mine.length && rows.size) {
    out.warnings.push(
      `the database has ${target.ecoBase} advisories, but none for release ${os!.version}: is the feed for this release imported?`,
    );
  }
  return out;
}

/** Which OSV ecosystem a language package's purl type belongs to. */
export const ECOSYSTEM_OF_PURL: Record<string, string> = {
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

/**
 * Code compiled into a binary (Go, Rust) stays vulnerable whatever the distro's own package of
 * that library says: the distro feed tracks its golang/rustc packages, not each binary's copy.
 */
export const STATICALLY_LINKED = new Set(['golang', 'cargo']);

/**
 * Language packages against their ecosystem's advisories. Packages an OS package installed are
 * skipped: the distro's feed covers them with its backported fixes (matching both would
 * double-count and flag fixes the distro already shipped).
 */
export function matchLanguagePackages(
  store: VulnStore,
  packages: Package[],
  opts: { goReachability?: boolean } = {},
): MatchOutput {
  const out: MatchOutput = { matches: [], notAffected: new Map(), warnings: [], unreachable: [] };
  const present = new Map<Package, Set<string>>();
  const byEco = new Map<string, Package[]>();
  for (const p of packages) {
    const eco = ECOSYSTEM_OF_PURL[p.type];
    if (!eco || (p.ownedBy && !STATICALLY_LINKED.has(p.type))) continue;
    // Pushed, not copied: copying the list per package was quadratic (a 200k-package upload held a
    // match job for hours).
    const list = byEco.get(eco);
    if (list) list.push(p);
    else byEco.set(eco, [p]);
  }
  // Components found in binaries, outside any package manager: NVD's CPE ranges (an OS-owned copy
  // is left to its distro's feed, as above).
  const binaries = packages.filter((p) => !p.ownedBy && cpeNamesOf(p).length);
  if (binaries.length) {
    const scheme = schemeForEcosystem(CPE_ECOSYSTEM)!;
    const rows = store.affectedFor(CPE_ECOSYSTEM, [...new Set(binaries.flatMap(cpeNamesOf))]);
    for (const pkg of binaries) {
      // A product's own feed (Node.js's security data), where the database holds it, instead.
      const own = ownFeedOf(pkg);
      const ownRows = own ? (store.affectedFor(own.ecosystem, [own.name]).get(own.name) ?? []) : [];
      if (own && ownRows.length) {
        for (const row of ownRows) {
          const v = own.verdict(pkg.version, row.ecosystemSpecific);
          if (!v.affected) continue;
          out.matches.push({
            pkg,
            row,
            status: v.fixedVersion ? 'fixed' : 'affected',
            fixedVersion: v.fixedVersion,
            scheme: schemeForEcosystem(own.ecosystem)!,
          });
        }
        continue;
      }
      const seen = new Set<string>();
      for (const row of cpeNamesOf(pkg).flatMap((n) => rows.get(n) ?? [])) {
        // One CVE once, when NVD files it under two names of the product (f5:nginx, nginx:nginx).
        if (seen.has(row.id) || row.status === 'not_affected' || !isAffected(pkg.version, row, scheme))
          continue;
        seen.add(row.id);
        const fixes = fixedVersionsAbove(pkg.version, row, scheme);
        out.matches.push({
          pkg,
          row,
          status: fixes.length ? 'fixed' : 'affected',
          fixedVersion: fixes[0],
          scheme,
        });
      }
    }
  }
  for (const [eco, pkgs] of byEco) {
    const scheme = schemeForEcosystem(eco)!;
    const rows = store.affectedFor(
      eco,
      pkgs.map((p) => p.name),
    );
    for (const pkg of pkgs) {
      for (const row of rows.get(pkg.name) ?? []) {
        if (row.status === 'not_affected' || !isAffected(pkg.version, row, scheme)) continue;
        const fixes = fixedVersionsAbove(pkg.version, row, scheme);
        const match: RawMatch = {
          pkg,
          row,
          status: fixes.length ? 'fixed' : 'affected',
          fixedVersion: fixes[0],
          scheme,
        };
        const checked =
          opts.goReachability !== false && pkg.symbols ? unreachableSymbols(row, pkg, present) : undefined;
        if (checked) out.unreachable!.push({ ...match, checked });
        else out.matches.push(match);
      }
    }
  }
  return out;
}

/**
 * The vulnerable functions an advisory names for a Go package, when none of them is in the binary
 * (`pkg.symbols`); undefined when one is, or when the advisory names none for some package (then
 * the whole package counts, and it stays affected).
 */
function unreachableSymbols(
  row: AffectedRow,
  pkg: Package,
  present: Map<Package, Set<string>>,
): string[] | undefined {
  const imports = (row.ecosystemSpecific as { imports?: unknown } | undefined)?.imports;
  if (!Array.isArray(imports) || imports.length === 0) return undefined;
  const wanted: string[] = [];
  for (const imp of imports as Array<{ path?: unknown; symbols?: unknown }>) {
    if (typeof imp?.path !== 'string' || !Array.isArray(imp.symbols) || imp.symbols.length === 0)
      return undefined;
    for (const sym of imp.symbols)
      if (typeof sym === 'string') wanted.push(`${imp.path}.${sym.replace(/\[[^\]]*\]/g, '')}`);
  }
  let have = present.get(pkg);
  if (!have) present.set(pkg, (have = new Set(pkg.symbols)));
  return wanted.length && !wanted.some((w) => have.has(w)) ? wanted : undefined;
}
