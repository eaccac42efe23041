import { sql } from 'kysely';
import type { Db } from './db.js';

/** Per-account sign-in failures (`sign_in_failures`): the lockout every replica sharing the store sees. */

export async function signInFailures(db: Db, name: string) {
  return db.k.selectFrom('sign_in_failures').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function clearSignInFailures(db: Db, name: string): Promise<void> {
  await db.k.deleteFrom('sign_in_failures').where('name', '=', name).execute();
}

/**
 * Count one failure, atomically (a count from a window older than `stale` starts again at 1), and
 * say how many there are now.
 */
export async function countSignInFailure(db: Db, name: string, at: string, stale: string): Promise<number> {
  await db.k
    .insertInto('sign_in_failures')
    .values({ name, failures: 1, first_at: at, last_at: at, locked_until: null })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({
        failures: sql`case when sign_in_failures.first_at < ${stale} then 1 else sign_in_failures.failures + 1 end`,
        first_at: sql`case when sign_in_failures.first_at < ${stale} then ${at} else sign_in_failures.first_at end`,
        last_at: at,
      }),
    )
    .execute();
  return Number(
    (await db.k.selectFrom('sign_in_failures').select('failures').where('name', '=', name).executeTakeFirst())
      ?.failures ?? 1,
  );
}

export async function lockSignIn(db: Db, name: string, until: string): Promise<void> {
  await db.k.updateTable('sign_in_failures').set({ locked_until: until }).where('name', '=', name).execute();
}

/** Names nobody tried since `before` are forgotten (unknown names must not pile up). */
export async function forgetSignInFailures(db: Db, before: string): Promise<void> {
  await db.k.deleteFrom('sign_in_failures').where('last_at', '<', before).execute();
}
