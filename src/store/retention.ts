import { sql } from 'kysely';
import type { Db } from './db.js';
import { unpack, type ResultPatch } from './results.js';

export interface Collected {
  /** Scans deleted (older than the newest `retain` of their image, and nothing builds on them). */
  scans: number;
  /** Finding sets no stored patch names any more. */
  sets: number;
}

/**
 * Storage that only grows is a slow outage: every database update adds patches and finding sets.
 * `retain` > 0 keeps each image's newest `retain` scans (plus its latest and any full result a kept
 * patch is applied over); then finding sets no remaining patch names are deleted. A set younger
 * than `graceMs` is kept: the fleet re-match writes its sets before the patches naming them (the
 * caller also runs this under the update's lock, so no pass is between the two).
 */
export async function collectGarbage(db: Db, retain: number, graceMs = 3_600_000): Promise<Collected> {
  let scans = 0;
  if (retain > 0) {
    const r = await sql`
      DELETE FROM scans WHERE id IN (
        SELECT id FROM (
          SELECT id, ROW_NUMBER() OVER (PARTITION BY digest ORDER BY id DESC) AS rn FROM scans
        ) ranked WHERE rn > ${retain})
      AND id NOT IN (SELECT base_id FROM scans WHERE base_id IS NOT NULL)
      AND id NOT IN (SELECT latest_scan_id FROM images WHERE latest_scan_id IS NOT NULL)`.execute(db.k);
    scans = Number(r.numAffectedRows ?? 0);
  }
  // Mark: every hash a stored patch names (patches are small: a list of set references).
  const named = new Set<string>();
  let after = 0;
  for (;;) {
    const rows = await db.k
      .selectFrom('scans')
      .select(['id', 'result'])
      .where('base_id', 'is not', null)
      .where('id', '>', after)
      .orderBy('id')
      .limit(2000)
      .execute();
    if (!rows.length) break;
    for (const row of rows) for (const s of unpack<ResultPatch>(row.result).sets) named.add(s.hash);
    after = Number(rows[rows.length - 1].id);
  }
  // Sweep, in chunks, what is old enough and named nowhere.
  const before = new Date(Date.now() - graceMs).toISOString();
  const stale = (
    await db.k.selectFrom('finding_sets').select('hash').where('created_at', '<', before).execute()
  )
    .map((r) => r.hash)
    .filter((h) => !named.has(h));
  for (let i = 0; i < stale.length; i += 500)
    await db.k
      .deleteFrom('finding_sets')
      .where('hash', 'in', stale.slice(i, i + 500))
      .execute();
  return { scans, sets: stale.length };
}
