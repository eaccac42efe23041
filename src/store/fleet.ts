import type { Insertable } from 'kysely';
import { now, type Db } from './db.js';
import type { StoredInventory } from './package-index.js';
import { provenanceOf } from './images.js';
import type { Provenance } from '../model/provenance.js';
import { unpack, type ResultPatch } from './results.js';
import type { Tables } from './schema.js';

/**
 * What the fleet re-match (monitor/rematch.ts) reads and writes, a chunk of images at a time: the
 * newest scans, inventories, earlier patches, finding sets, patch rows, the finding index.
 */

export type ScanRow = {
  id: number;
  digest: string;
  db_version: string;
  checked_version: string | null;
  tally: string | null;
  base_id: number | null;
  /** A patch keeps the provenance of the result it patches. */
  provenance_kind: string;
  provenance_by: string | null;
  provenance_at: string | null;
};

/** The newest scan of each digest. */
export async function latestScans(db: Db, digests: string[]): Promise<Map<string, ScanRow>> {
  const rows = digests.length
    ? await db.k
        .selectFrom('scans')
        .select([
          'id',
          'digest',
          'db_version',
          'checked_version',
          'tally',
          'base_id',
          'provenance_kind',
          'provenance_by',
          'provenance_at',
        ])
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('scans')
            .select((e) => e.fn.max('id').as('m'))
            .where('digest', 'in', digests)
            .groupBy('digest'),
        )
        .execute()
    : [];
  return new Map(
    rows.map((r) => [
      r.digest,
      { ...r, id: Number(r.id), base_id: r.base_id === null ? null : Number(r.base_id) },
    ]),
  );
}

export async function loadInventories(db: Db, digests: string[]): Promise<Map<string, StoredInventory>> {
  if (!digests.length) return new Map();
  const rows = await db.k
    .selectFrom('inventories')
    .select(['digest', 'data'])
    .where('digest', 'in', digests)
    .execute();
  return new Map(rows.map((r) => [r.digest, unpack<StoredInventory>(r.data)]));
}

/** The patches the newest scans already are (a new patch takes their other packages over). */
export async function previousPatches(db: Db, rows: ScanRow[]): Promise<Map<number, ResultPatch>> {
  if (!rows.length) return new Map();
  const got = await db.k
    .selectFrom('scans')
    .select(['id', 'result'])
    .where(
      'id',
      'in',
      rows.map((r) => r.id),
    )
    .execute();
  return new Map(got.map((r) => [Number(r.id), unpack<ResultPatch>(r.result)]));
}

/** Finding sets by hash (one already stored stays as it is). */
export async function storeFindingSets(db: Db, sets: Map<string, Buffer>): Promise<void> {
  const rows = [...sets].map(([hash, data]) => ({ hash, data, created_at: now() }));
  for (let j = 0; j < rows.length; j += 100)
    await db.k
      .insertInto('finding_sets')
      .values(rows.slice(j, j + 100))
      .onConflict((oc) => oc.column('hash').doNothing())
      .execute();
}

/** Patch results; a scan made with the new version meanwhile (a push, a job) stands. */
export async function insertPatchScans(db: Db, rows: Array<Insertable<Tables['scans']>>) {
  return db.k
    .insertInto('scans')
    .values(rows)
    .onConflict((oc) => oc.columns(['digest', 'db_version']).doNothing())
    .returning(['id', 'digest'])
    .execute();
}

export async function pointImagesAtNewestScan(db: Db, digests: string[]): Promise<void> {
  await db.k
    .updateTable('images')
    .set((eb) => ({
      latest_scan_id: eb
        .selectFrom('scans')
        .select((e) => e.fn.max('id').as('m'))
        .whereRef('scans.digest', '=', 'images.digest'),
    }))
    .where('digest', 'in', digests)
    .execute();
}

type IndexRow = { digest: string; vulnerability: string; package: string; version: string; severity: string };

/**
 * The finding index by difference: rows gone out, rows added in. A statement carries 1,000 rows
 * gone (5,000 parameters) or 2,000 added (10,000): a fleet re-match writes hundreds of thousands,
 * and fewer, larger statements spend less on round trips (both engines take 32,766 parameters).
 */
export async function changeFindingIndex(db: Db, gone: IndexRow[], added: IndexRow[]): Promise<void> {
  for (let i = 0; i < gone.length; i += 1000)
    await db.k
      .deleteFrom('finding_index')
      .where((eb) =>
        eb(
          eb.refTuple('digest', 'package', 'version', 'vulnerability', 'severity'),
          'in',
          gone
            .slice(i, i + 1000)
            .map((g) => eb.tuple(g.digest, g.package, g.version, g.vulnerability, g.severity)),
        ),
      )
      .execute();
  for (let i = 0; i < added.length; i += 2000)
    await db.k
      .insertInto('finding_index')
      .values(added.slice(i, i + 2000))
      .execute();
}

/** Stored results' bytes by scan id, 200 ids a query. */
export async function scanResultBytes(db: Db, ids: number[]): Promise<Map<number, Buffer | Uint8Array>> {
  const out = new Map<number, Buffer | Uint8Array>();
  for (let i = 0; i < ids.length; i += 200)
    for (const r of await db.k
      .selectFrom('scans')
      .select(['id', 'result'])
      .where('id', 'in', ids.slice(i, i + 200))
      .execute())
      out.set(Number(r.id), r.result);
  return out;
}

/** Scans still current at the old version, found to hold for the new one. */
export async function markHolding(
  db: Db,
  digests: string[],
  oldVersion: string,
  newVersion: string,
): Promise<number> {
  let n = 0;
  for (let i = 0; i < digests.length; i += 500) {
    const r = await db.k
      .updateTable('scans')
      .set({ checked_version: newVersion })
      .where('digest', 'in', digests.slice(i, i + 500))
      .where((eb) => eb.or([eb('db_version', '=', oldVersion), eb('checked_version', '=', oldVersion)]))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('scans as l')
          .select((e) => e.fn.max('l.id').as('m'))
          .where('l.digest', 'in', digests.slice(i, i + 500))
          .groupBy('l.digest'),
      )
      .executeTakeFirst();
    n += Number(r.numUpdatedRows);
  }
  return n;
}

/** Stored inventories with their provenance (a result keeps the provenance of its inventory). */
export async function loadInventoriesWithProvenance(
  db: Db,
  digests: string[],
): Promise<Map<string, { inventory: StoredInventory; provenance: Provenance }>> {
  if (!digests.length) return new Map();
  const rows = await db.k
    .selectFrom('inventories')
    .select(['digest', 'data', 'provenance_kind', 'provenance_by', 'provenance_at'])
    .where('digest', 'in', digests)
    .execute();
  return new Map(
    rows.map((r) => [r.digest, { inventory: unpack<StoredInventory>(r.data), provenance: provenanceOf(r) }]),
  );
}
