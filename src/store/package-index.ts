import { lookupKeys } from '../match/keys.js';
import type { Db } from './db.js';
import type { Inventory } from '../catalog/index.js';
import type { ImageMetadata } from '../image/model.js';

/** What re-matching an image needs, stored once per digest (images.ts stores it). */
export interface StoredInventory extends Inventory {
  image: ImageMetadata;
}

/** Which packages each stored inventory holds: what a database update's re-match looks up. */

/** An inventory's rows in `package_versions` (one per name and version) and `package_index`. */
export function inventoryIndexRows(digest: string, inv: StoredInventory) {
  const versions = [
    ...new Map(
      inv.packages.map((p) => [
        `${p.name}\u0000${p.version}`,
        { digest, name: p.name, version: p.version ?? '', type: p.type },
      ]),
    ).values(),
  ];
  const keys = lookupKeys(inv.os, inv.packages).map((k) => ({ ...k, digest }));
  return { versions, keys };
}

export async function indexInventory(db: Db, digest: string, inv: StoredInventory): Promise<number> {
  const { versions } = inventoryIndexRows(digest, inv);
  await db.k.deleteFrom('package_versions').where('digest', '=', digest).execute();
  for (let i = 0; i < versions.length; i += 500) {
    await db.k
      .insertInto('package_versions')
      .values(versions.slice(i, i + 500))
      .execute();
    await letOthersWrite(db, i);
  }
  const keys = lookupKeys(inv.os, inv.packages);
  for (let i = 0; i < keys.length; i += 500) {
    await letOthersWrite(db, i);
    await db.k
      .insertInto('package_index')
      .values(keys.slice(i, i + 500).map((k) => ({ ...k, digest })))
      .onConflict((oc) => oc.columns(['ecosystem', 'name', 'digest']).doNothing())
      .execute();
  }
  return keys.length;
}

/**
 * SQLite has one writer at a time, and a writer that waits (the server's event loop claiming a job)
 * sleeps in growing steps: back-to-back chunks of a 200k-package index kept it waiting for seconds.
 * A pause every few chunks lets it in.
 */
async function letOthersWrite(db: Db, i: number): Promise<void> {
  if (db.engine === 'sqlite' && i > 0 && i % 2000 === 0) await new Promise((r) => setTimeout(r, 5));
}

/** The stored inventories holding any of these (ecosystem, name) pairs. */
export async function digestsFor(
  db: Db,
  keys: Array<{ ecosystem: string; name: string }>,
): Promise<string[]> {
  const out = new Set<string>();
  for (let i = 0; i < keys.length; i += 300) {
    const chunk = keys.slice(i, i + 300);
    const rows = await db.k
      .selectFrom('package_index')
      .select('digest')
      .distinct()
      .where((eb) =>
        eb(
          eb.refTuple('ecosystem', 'name'),
          'in',
          chunk.map((k) => eb.tuple(k.ecosystem, k.name)),
        ),
      )
      .execute();
    for (const r of rows) out.add(r.digest);
  }
  return [...out];
}

export async function allInventoryDigests(db: Db): Promise<string[]> {
  return (await db.k.selectFrom('inventories').select('digest').execute()).map((r) => r.digest);
}
