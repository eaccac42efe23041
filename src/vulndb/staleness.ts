import { signedExpiry, type SignedExpiry } from './freshness.js';

/** Days after which a database is stale unless --db-max-age says otherwise. */
export const DEFAULT_MAX_AGE_DAYS = 7;

export interface Staleness {
  builtAt?: string;
  /** Unrounded; undefined when the database does not say when it was built. */
  ageDays?: number;
  expiry: SignedExpiry;
  /** Sources whose last update did not succeed. */
  failed: Array<{ name: string; status: string; error?: string }>;
  stale: boolean;
}

/**
 * The one definition of a stale database, shared by `db status`, every scan (`--fail-on-stale-db`)
 * and the server: of unknown age, older than `maxAgeDays`, a source whose last update failed, or
 * a signature that expired. Any of these means advisories may be missing, not absent.
 */
export function staleness(
  meta: (key: string) => string | undefined,
  sources: Array<{ name: string; status: string; error?: string }>,
  maxAgeDays = DEFAULT_MAX_AGE_DAYS,
  now = Date.now(),
): Staleness {
  const builtAt = meta('built_at');
  const ageDays = builtAt ? Math.max(0, (now - Date.parse(builtAt)) / 86_400_000) : undefined;
  const expiry = signedExpiry(meta, now);
  const failed = sources.filter((s) => s.status !== 'ok');
  return {
    builtAt,
    ageDays,
    expiry,
    failed,
    stale: ageDays === undefined || ageDays > maxAgeDays || failed.length > 0 || expiry.expired,
  };
}

/** The warning a result carries about its database (its notice, else its age when stale). */
export function databaseWarnings(db: {
  notice?: string;
  stale?: boolean;
  ageDays?: number;
  version?: string;
}): string[] {
  if (db.notice) return [db.notice];
  if (db.stale)
    return [
      `the vulnerability database is ${Math.floor(db.ageDays ?? 0)} days old (version ${db.version}); run "customs db update"`,
    ];
  return [];
}
