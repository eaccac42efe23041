import type { Selectable } from 'kysely';
import type { Tables } from './schema.js';
import { now, type Db } from './db.js';

export interface WatchRecord {
  id: number;
  registry: string;
  repository: string;
  intervalSeconds: number;
  lastPolled: string | null;
  lastError: string | null;
  createdAt: string;
}

const record = (r: Selectable<Tables['watches']>): WatchRecord => ({
  id: r.id,
  registry: r.registry,
  repository: r.repository,
  intervalSeconds: r.interval_seconds,
  lastPolled: r.last_polled,
  lastError: r.last_error,
  createdAt: r.created_at,
});

export async function upsertWatch(
  db: Db,
  w: { registry: string; repository: string; intervalSeconds: number },
): Promise<WatchRecord> {
  await db.k
    .insertInto('watches')
    .values({
      registry: w.registry,
      repository: w.repository,
      interval_seconds: w.intervalSeconds,
      last_polled: null,
      last_error: null,
      created_at: now(),
    })
    .onConflict((oc) =>
      oc.columns(['registry', 'repository']).doUpdateSet({ interval_seconds: w.intervalSeconds }),
    )
    .execute();
  const r = await db.k
    .selectFrom('watches')
    .selectAll()
    .where('registry', '=', w.registry)
    .where('repository', '=', w.repository)
    .executeTakeFirstOrThrow();
  return record(r);
}

export async function listWatches(db: Db): Promise<WatchRecord[]> {
  return (await db.k.selectFrom('watches').selectAll().orderBy('id').execute()).map(record);
}

export async function deleteWatch(db: Db, id: number): Promise<boolean> {
  return (
    Number((await db.k.deleteFrom('watches').where('id', '=', id).executeTakeFirst()).numDeletedRows) > 0
  );
}

/** Watches whose interval has passed, marked as polled now (so two pollers rarely take the same one). */
export async function takeDueWatches(db: Db): Promise<WatchRecord[]> {
  const all = await listWatches(db);
  const due = all.filter(
    (w) => !w.lastPolled || Date.now() - Date.parse(w.lastPolled) >= w.intervalSeconds * 1000,
  );
  for (const w of due)
    await db.k.updateTable('watches').set({ last_polled: now() }).where('id', '=', w.id).execute();
  return due;
}

export async function noteWatchError(db: Db, id: number, error: string | null): Promise<void> {
  await db.k.updateTable('watches').set({ last_error: error }).where('id', '=', id).execute();
}
