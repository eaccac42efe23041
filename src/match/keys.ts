import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import { ECOSYSTEM_OF_PURL, normalizePackageName } from '../ecosystems/index.js';
import { osTarget } from './os-matcher.js';
import { CPE_ECOSYSTEM, cpeNamesOf, ownFeedOf } from './cpe.js';

/**
 * The (ecosystem, name) pairs under which the matchers look an inventory's packages up, names
 * normalised as the database stores them. The server indexes inventories by them, so that a
 * database change re-matches only the inventories it can touch.
 */
export function lookupKeys(
  os: OsInfo | undefined,
  packages: Package[],
): Array<{ ecosystem: string; name: string }> {
  const out = new Map<string, { ecosystem: string; name: string }>();
  const keysOf = packageKeys(os);
  for (const p of packages) for (const k of keysOf(p)) out.set(`${k.ecosystem}\u0000${k.name}`, k);
  return [...out.values()];
}

/** The same keys, one package at a time (the OS's release is looked up once). */
export function packageKeys(
  os: OsInfo | undefined,
): (p: Package) => Array<{ ecosystem: string; name: string }> {
  const target = osTarget(os);
  return (p) => {
    const out: Array<{ ecosystem: string; name: string }> = [];
    const add = (ecosystem: string, name: string) =>
      out.push({ ecosystem, name: normalizePackageName(ecosystem, name) });
    if (target && p.type === target.packageType) {
      add(target.ecoBase, target.keyOf(p));
      const source = target.sourceKeyOf?.(p);
      if (source) add(target.ecoBase, source);
    }
    const eco = ECOSYSTEM_OF_PURL[p.type];
    if (eco) add(eco, p.name);
    for (const product of cpeNamesOf(p)) add(CPE_ECOSYSTEM, product);
    const own = ownFeedOf(p);
    if (own) add(own.ecosystem, own.name);
    return out;
  };
}
