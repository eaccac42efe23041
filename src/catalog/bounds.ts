import type { Package } from './model.js';

/*
 * What a report carries from one package is bounded whatever a crafted file says: every parser
 * bounds its own input, and this is the last line before the reports (a 200 MB package name
 * once made a 419 MB JSON report). Real names are under a few hundred characters, versions under
 * a hundred.
 */
export const MAX_NAME = 512;
export const MAX_VERSION = 256;
const MAX_LICENSE = 1024;

/*
 * How many packages one file may list, and one scan report. A package costs a few kilobytes from
 * parse to report (1.4 GB resident for a 63 MiB deps.json naming 550,000; 1.15 GB for a CycloneDX
 * SBOM of 200,000, 650 MB of 100,000), so within the read limit a file could list more than a
 * scan can hold under 1 GiB beside its budget of held files: the largest real lockfiles list tens
 * of thousands, images a few thousand installed packages.
 */
export const MAX_PACKAGES_PER_FILE = 50_000;
export const MAX_PACKAGES_PER_SCAN = 100_000;

/** Keeps the first `max` of a file's packages, saying in a warning how many were left out. */
export function firstOf<T>(items: T[], max: number, where: string, warnings: string[]): T[] {
  if (items.length <= max) return items;
  warnings.push(
    `${where}: lists ${items.length} packages, more than the ${max} one file may (a crafted file?); the first ${max} kept`,
  );
  return items.slice(0, max);
}
const MAX_DESCRIPTION = 4096;

/** A string as a warning quotes it: attacker-sized values are cut, their length said. */
export const clip = (s: string, n = 80): string =>
  s.length > n ? `${s.slice(0, n)}…(${s.length} characters)` : s;

/** A list as a warning names it: the first `n`, then how many more. */
export const listed = (items: string[], n = 20): string =>
  items.length > n ? `${items.slice(0, n).join(', ')} and ${items.length - n} more` : items.join(', ');

/**
 * Packages whose name or version no ecosystem would write are dropped with one warning per
 * cataloger; over-long licenses are dropped and descriptions cut.
 */
export function boundPackages(packages: Package[], warnings: string[]): Package[] {
  const dropped = new Map<string, { count: number; first: string }>();
  const out = packages.filter((p) => {
    const long = (s: string | undefined, n: number) => s !== undefined && s.length > n;
    if (
      long(p.name, MAX_NAME) ||
      long(p.version, MAX_VERSION) ||
      long(p.source?.name, MAX_NAME) ||
      long(p.source?.version, MAX_VERSION)
    ) {
      const d = dropped.get(p.foundBy);
      if (d) d.count++;
      else
        dropped.set(p.foundBy, {
          count: 1,
          first: `${clip(p.name, 40)} at ${clip(p.locations[0]?.path ?? '?')}`,
        });
      return false;
    }
    if (p.licenses.some((l) => l.length > MAX_LICENSE))
      p.licenses = p.licenses.filter((l) => l.length <= MAX_LICENSE);
    if (long(p.description, MAX_DESCRIPTION)) p.description = clip(p.description!, MAX_DESCRIPTION);
    return true;
  });
  for (const [by, d] of dropped)
    warnings.push(
      `${by}: ${d.count} package${d.count > 1 ? 's' : ''} with a name over ${MAX_NAME} or a version over ${MAX_VERSION} characters (a crafted file?), first ${d.first}; left out`,
    );
  return out;
}
