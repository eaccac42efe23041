import { loadInventory } from './images.js';
import type { Db } from './db.js';
import { indexInventory } from './package-index.js';

/**
 * What the server watches, split by subject: the package index (package-index.ts), the finding
 * index (finding-index.ts), finding events (finding-events.ts), database versions (db-versions.ts).
 * Re-exported here for the callers that knew them here; the backfill reads inventories, so it
 * lives above images.ts (which indexes what it stores) instead of beside the index.
 */
export { allInventoryDigests, digestsFor, indexInventory } from './package-index.js';
export { dbVersions, recordDbVersion } from './db-versions.js';
export {
  findingChanges,
  findingEventRows,
  findingEvents,
  insertFindingEvents,
  recordFindingEvents,
} from './finding-events.js';
export { backfillFindingIndex, findingIndexChanges, indexFindings } from './finding-index.js';
export { previousResult } from './results.js';

/** Inventories stored before the indexes existed are indexed once, at start. */
export async function backfillPackageIndex(db: Db): Promise<number> {
  const missing = await db.k
    .selectFrom('inventories')
    .select('digest')
    .where((eb) =>
      eb.or([
        eb('digest', 'not in', db.k.selectFrom('package_index').select('digest').distinct()),
        eb('digest', 'not in', db.k.selectFrom('package_versions').select('digest').distinct()),
      ]),
    )
    .execute();
  for (const { digest } of missing) {
    const inv = await loadInventory(db, digest);
    if (inv) await indexInventory(db, digest, inv);
  }
  return missing.length;
}
