import { existsSync, linkSync, rmSync } from 'node:fs';
import type { JobQueue } from '../jobs/queue.js';
import { requestScans } from '../services/scans.js';
import type { Db } from '../store/db.js';
import { allInventoryDigests, digestsFor, recordDbVersion } from '../store/monitoring.js';
import { changedKeys } from '../vulndb/delta.js';
import { dbRepositories, pullDatabase } from '../vulndb/install.js';
import { trustedKeys } from '../vulndb/signing.js';
import type { Policy } from '../policy/policy.js';
import { closeStore, openStore } from '../scan/scan.js';
import { rematchFleet, type FleetOutcome, type FleetRematch } from './rematch.js';

export interface DbUpdateOutcome {
  status: 'current' | 'installed';
  version: string;
  origin: string;
  mode?: 'full' | 'delta';
  bytes: number;
  /** (ecosystem, package) pairs whose advisories changed; null when everything was re-matched. */
  changedPackages: number | null;
  /** Stored inventories re-matched (those holding a changed package; all after a full download). */
  rescans: number;
  /** Of those, the images whose findings changed (a new result stored at once). */
  changedImages?: number;
  /** Of those, the ones left to the job queue for a full re-match. */
  queued?: number;
}

export interface DbUpdaterOptions {
  db: Db;
  queue: JobQueue;
  dbPath: string;
  repositories: string[];
  trustKeys: string[];
  insecure?: boolean;
  /** 0: only on request (POST /api/v1/db/update). */
  intervalMs: number;
  /** The policy environments are judged by: a re-match that makes a running image fail it alerts. */
  policy?: Policy;
  log: (msg: string, fields?: object) => void;
  /** Where the fleet re-match runs (the server's worker thread; default: in this thread). */
  rematch?: (o: Omit<FleetRematch, 'db' | 'policy' | 'log'>) => Promise<FleetOutcome>;
}

/**
 * The server's heartbeat: pull the signed database (deltas when near), then re-match only the
 * stored inventories that hold a package whose advisories changed. The old database is kept
 * through a hard link while the new one is compared with it (the update renames a new file into
 * place, so the link still reads the old content).
 */
export class DbUpdater {
  private current?: Promise<DbUpdateOutcome>;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: DbUpdaterOptions) {}

  start(): void {
    if (this.o.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.run().catch((err: unknown) =>
        this.o.log('database update failed', { reason: (err as Error).message }),
      );
    }, this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One update at a time: a request during a running update gets that update's outcome. */
  run(): Promise<DbUpdateOutcome> {
    this.current ??= this.once().finally(() => (this.current = undefined));
    return this.current;
  }

  /** Re-match every stored inventory (`customs server rescan --all`, POST /api/v1/rescans). */
  async rescanAll(version: string): Promise<number> {
    return this.enqueue(await allInventoryDigests(this.o.db), version, 'rescan');
  }

  private async enqueue(digests: string[], version: string, source: string): Promise<number> {
    // Inventories already matched against this version are not queued again (requestScans' rule,
    // `full`: a result found still to hold does not count, a full re-match is asked for): pg-boss
    // keeps a key unique only while its job waits or runs, and thousands of jobs that would only
    // find their scan done held the queue for minutes ahead of the ones with work.
    const out = await requestScans(
      this.o,
      digests.map((digest) => ({ digest, source, full: true })),
      version,
    );
    return out.filter((o) => o.match || o.scan).length;
  }

  private async once(): Promise<DbUpdateOutcome> {
    const { dbPath } = this.o;
    const prev = `${dbPath}.prev-${process.pid}`;
    rmSync(prev, { force: true });
    const hadOld = existsSync(dbPath);
    if (hadOld) linkSync(dbPath, prev);
    try {
      const r = await pullDatabase(dbPath, dbRepositories(this.o.repositories), {
        keys: trustedKeys(this.o.trustKeys),
        registry: { insecure: this.o.insecure, retries: 2 },
      });
      if (r.status === 'current')
        return {
          status: 'current',
          version: r.version,
          origin: r.origin,
          bytes: 0,
          changedPackages: 0,
          rescans: 0,
        };
      const keys = hadOld ? changedKeys(prev, dbPath) : undefined;
      let rescans: number;
      let queued: number;
      let changedImages: number | undefined;
      if (keys) {
        // Only the packages the change touched are matched again, fleet-wide in one pass.
        const digests = await digestsFor(this.o.db, keys);
        try {
          const fleet = await (
            this.o.rematch ??
            ((a) => rematchFleet({ ...a, db: this.o.db, policy: this.o.policy, log: this.o.log }))
          )({
            oldPath: prev,
            newPath: dbPath,
            oldVersion: openStore(prev).meta('built_at') ?? 'unknown',
            newVersion: openStore(dbPath).meta('built_at') ?? r.version,
            keys,
            digests,
            all: await allInventoryDigests(this.o.db),
          });
          rescans = digests.length;
          changedImages = fleet.patched;
          queued = await this.enqueue(fleet.fallback, r.version, 'db-update');
        } finally {
          closeStore(prev);
        }
      } else {
        queued = rescans = await this.enqueue(await allInventoryDigests(this.o.db), r.version, 'db-update');
      }
      await recordDbVersion(this.o.db, {
        version: r.version,
        origin: r.origin,
        mode: r.mode ?? 'full',
        bytes: r.bytes,
        changedPackages: keys?.length ?? -1,
        rescans,
      });
      const outcome: DbUpdateOutcome = {
        status: 'installed',
        version: r.version,
        origin: r.origin,
        mode: r.mode,
        bytes: r.bytes,
        changedPackages: keys ? keys.length : null,
        rescans,
        ...(changedImages !== undefined ? { changedImages } : {}),
        queued,
      };
      this.o.log('database updated', outcome);
      return outcome;
    } finally {
      rmSync(prev, { force: true });
    }
  }
}
