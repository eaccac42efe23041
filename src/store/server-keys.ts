import type { Insertable } from 'kysely';
import type { Db } from './db.js';
import type { Tables } from './schema.js';

/** The server's keys as stored (private halves sealed): gate/server-key.ts makes and opens them. */

/** Every key of a purpose, newest first. */
export async function keyRows(db: Db, purpose: string) {
  return db.k
    .selectFrom('server_keys')
    .select(['id', 'algorithm', 'public_pem', 'created_at', 'retired_at'])
    .where('purpose', '=', purpose)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
}

/** The active key of a purpose. Two processes starting at once may both make one: the oldest wins everywhere. */
export async function activeKeyRow(db: Db, purpose: string) {
  return db.k
    .selectFrom('server_keys')
    .selectAll()
    .where('purpose', '=', purpose)
    .where('retired_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

export async function insertKeyRow(db: Db, row: Insertable<Tables['server_keys']>): Promise<void> {
  await db.k.insertInto('server_keys').values(row).execute();
}

export async function deleteKeyRow(db: Db, id: string): Promise<void> {
  await db.k.deleteFrom('server_keys').where('id', '=', id).execute();
}

export async function retireKeyRow(db: Db, id: string, at: string): Promise<void> {
  await db.k.updateTable('server_keys').set({ retired_at: at }).where('id', '=', id).execute();
}

/** Every key of a purpose with its sealed private half (to learn which this secret key opens). */
export async function sealedKeyRows(db: Db, purpose: string) {
  return db.k
    .selectFrom('server_keys')
    .select(['id', 'public_pem', 'sealed_private', 'created_at'])
    .where('purpose', '=', purpose)
    .execute();
}
