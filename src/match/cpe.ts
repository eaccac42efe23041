import type { Package } from '../catalog/model.js';
import { CPE_PRODUCTS, ECOSYSTEMS } from '../ecosystems/index.js';
import { cpe } from '../ecosystems/cpe.js';
import { nodeVerdict } from '../vulndb/importers/nodejs.js';

/** NVD's CPE ranges are stored under this ecosystem (its record: ecosystems/cpe.ts). */
export const CPE_ECOSYSTEM = cpe.osv;
export { CPE_PRODUCTS };
// Moved a floor down (versions/, vulndb/importers/nvd.ts); re-exported for callers.
export { compareUpstream, upstreamScheme } from '../versions/upstream.js';
export { parseCpe } from '../vulndb/importers/nvd.js';

/**
 * A product's own feed, preferred over NVD's CPE ranges once the database holds it: where its
 * records live, and how one decides a release (the feed's own range syntax).
 */
export interface OwnFeed {
  ecosystem: string;
  name: string;
  verdict(version: string, ecosystemSpecific: unknown): { affected: boolean; fixedVersion?: string };
}
/**
 * How each own feed decides a release, by its ecosystem. The records (ecosystems/, `ownFeedFor`)
 * say which product a feed covers; the verdict is code of its importer, a floor up from them.
 */
const VERDICTS: Record<string, OwnFeed['verdict']> = {
  'Node.js': (v, e) => nodeVerdict(v, e as { vulnerable?: unknown; patched?: unknown }),
};
export const OWN_FEEDS: Record<string, OwnFeed> = Object.fromEntries(
  ECOSYSTEMS.filter((e) => e.ownFeedFor && VERDICTS[e.osv]).map((e) => [
    e.ownFeedFor!,
    { ecosystem: e.osv, name: e.ownFeedFor!, verdict: VERDICTS[e.osv] },
  ]),
);

/** The vendor:product pairs a package is looked up under (binary-identified components only). */
export function cpeNamesOf(p: Package): string[] {
  return p.type === 'generic' && p.foundBy === 'binary' && Object.hasOwn(CPE_PRODUCTS, p.name)
    ? CPE_PRODUCTS[p.name]
    : [];
}

export function ownFeedOf(p: Package): OwnFeed | undefined {
  return cpeNamesOf(p).length ? OWN_FEEDS[p.name] : undefined;
}
