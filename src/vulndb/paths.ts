import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the database lives: --db, CUSTOMS_DB, else the user cache folder. */
export function defaultDbPath(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.CUSTOMS_DB) return process.env.CUSTOMS_DB;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'customs', 'db', 'customs.db');
}
