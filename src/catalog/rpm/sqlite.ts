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
    const rows = db.prepare('SELECT blob FROM Packages ORDER BY hnum').all() as Array<{ blob: Buffer }>;
    return rows.map((r) => r.blob);
  } catch (err) {
    throw new CustomsError(`corrupt rpm SQLite database (${(err as Error).message})`);
  } finally {
    db.close();
  }
}
