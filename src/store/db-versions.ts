import { now, type Db } from './db.js';

/** The vulnerability database versions the server installed, and what each changed. */

export async function recordDbVersion(
  db: Db,
  v: {
    version: string;
    origin: string;
    mode: string;
    bytes: number;
    changedPackages: number;
    rescans: number;
  },
): Promise<void> {
  await db.k
    .insertInto('db_versions')
    .values({
      version: v.version,
      origin: v.origin,
      mode: v.mode,
      bytes: v.bytes,
      changed_packages: v.changedPackages,
      rescans: v.rescans,
      installed_at: now(),
    })
    .execute();
}

export async function dbVersions(db: Db, limit = 20) {
  return (await db.k.selectFrom('db_versions').selectAll().orderBy('id', 'desc').limit(limit).execute()).map(
    (r) => ({
      version: r.version,
      origin: r.origin,
      mode: r.mode,
      bytes: Number(r.bytes),
      changedPackages: Number(r.changed_packages),
      rescans: Number(r.rescans),
      installedAt: r.installed_at,
    }),
  );
}

export async function versionRecorded(db: Db, version: string): Promise<boolean> {
  return !!(await db.k
    .selectFrom('db_versions')
    .select('id')
    .where('version', '=', version)
    .executeTakeFirst());
}

export async function anyVersionRecorded(db: Db): Promise<boolean> {
  return !!(await db.k.selectFrom('db_versions').select('id').limit(1).executeTakeFirst());
}

/** The version installed last (what a follower replica should have). */
export async function newestDbVersion(db: Db): Promise<string | undefined> {
  const r = await db.k
    .selectFrom('db_versions')
    .select('version')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r?.version;
}
