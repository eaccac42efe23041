import { CustomsError } from '../errors.js';
import { dbVersion } from '../services/scans.js';
import type { Db } from '../store/db.js';
import { dbRepositories, pullDatabase } from '../vulndb/install.js';
import { trustedKeys } from '../vulndb/signing.js';
import { installing } from '../monitor/install-lock.js';
import { newestDbVersion } from '../store/db-versions.js';

/**
 * A scale-out worker's database kept in step with the server's. Scans and re-matches are keyed by
 * database version, so a worker matching with an older copy would find its old scan and skip the
 * re-match the server queued after an update. Before a job (at most every few seconds) the worker
 * reads the version the server installed last (`db_versions` in the shared store) and, when its
 * own copy differs, pulls from the same repositories with the same keys (deltas when near).
 */
export class DbFollower {
  private checkedAt = 0;
  private pulling?: Promise<void>;

  constructor(
    private readonly o: {
      db: Db;
      dbPath: string;
      repositories: string[];
      trustKeys: string[];
      insecure?: boolean;
      log: (msg: string, fields?: object) => void;
      /** How long an answer from the store holds (ms). */
      recheckMs?: number;
    },
  ) {}

  /** The version the server installed last, or undefined before its first update. */
  private async wanted(): Promise<string | undefined> {
    return newestDbVersion(this.o.db);
  }

  private local(): string | undefined {
    try {
      return dbVersion(this.o.dbPath);
    } catch {
      return undefined;
    }
  }

  /** Before a job: bring the local database to the server's version (one pull at a time). */
  async ensure(): Promise<void> {
    if (this.pulling) return this.pulling;
    if (Date.now() - this.checkedAt < (this.o.recheckMs ?? 5_000)) return;
    this.checkedAt = Date.now();
    const want = await this.wanted();
    const have = this.local();
    if (!want || want === have) return;
    this.pulling = (async () => {
      try {
        const r = await installing(this.o.dbPath, () =>
          pullDatabase(this.o.dbPath, dbRepositories(this.o.repositories), {
            keys: trustedKeys(this.o.trustKeys),
            registry: { insecure: this.o.insecure, retries: 2 },
          }),
        );
        this.o.log('database brought in step with the server', {
          version: r.version,
          server: want,
          mode: r.mode,
          bytes: r.bytes,
        });
        if (r.version !== want)
          this.o.log('the database repository offers another version than the server installed', {
            repository: r.version,
            server: want,
          });
      } catch (err) {
        // The job goes back to the queue and is retried; matching with a stale copy would skip it.
        this.checkedAt = 0;
        throw new CustomsError(
          `cannot bring the database in step with the server (${want}): ${(err as Error).message}`,
        );
      } finally {
        this.pulling = undefined;
      }
    })();
    return this.pulling;
  }
}
