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
