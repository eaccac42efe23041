import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { CustomsError } from '../../errors.js';

export function isSqlite(buf: Buffer): boolean {
  return buf.subarray(0, 16).toString('latin1') === 'SQLite format 3\0';
}

/** Header blobs of an rpm SQLite database (rpm >= 4.16: Fedora 33+, RHEL 9, Amazon Linux 2023, Mariner). */
export function sqliteBlobs(buf: Buffer): Buffer[] {
  // Opened from memory; a WAL-mode file must be marked as rollback-journal to deserialize.
  const copy = Buffer.from(buf);
  if (copy[18] === 2) copy[18] = 1;
  if (copy[19] === 2) copy[19] = 1;
  let db: Database.Database;
  try {
    // Loaded on first use: most images have no rpm database, and the native module costs start-up time.
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    db = new Sqlite(copy, { readonly: true });
  } catch (err) {
    throw new CustomsError(`corrupt rpm SQLite database (${(err as Error).message})`);
  }
  try {
    // Only a real table is read: a crafted VIEW can recurse forever and spill to temporary files.
    // Temporary data stays in memory under a hard cap, and schema code (views, triggers) is untrusted.
    db.pragma('trusted_schema = OFF');
    db.pragma('temp_store = MEMORY');
    db.pragma(`hard_heap_limit = ${256 * 1024 * 1024}`);
    const kind = db.prepare("SELECT type FROM sqlite_master WHERE name = 'Packages'").get() as
      { type?: string } | undefined;
    if (kind?.type !== 'table') throw new CustomsError('not an rpm SQLite database: Packages is not a table');
    const out: Buffer[] = [];
    let bytes = 0;
    for (const r of db.prepare('SELECT blob FROM Packages ORDER BY hnum').iterate() as Iterable<{
      blob: unknown;
    }>) {
      if (!Buffer.isBuffer(r.blob))
        throw new CustomsError('corrupt rpm SQLite database: a package header is not a blob');
      bytes += r.blob.length;
      if (out.length >= 200_000 || bytes > 1024 ** 3)
        throw new CustomsError('rpm SQLite database too large (over 200,000 packages or 1 GiB of headers)');
      out.push(r.blob);
    }
    return out;
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    throw new CustomsError(`corrupt rpm SQLite database (${(err as Error).message})`);
  } finally {
    db.close();
  }
}
