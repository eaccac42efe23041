import { existsSync, linkSync, rmSync } from 'node:fs';
import { audit } from '../services/audit.js';
import type { JobQueue } from '../model/jobs.js';
import { requestScans } from '../services/scans.js';
import type { Db } from '../store/db.js';
import { anyVersionRecorded, recordDbVersion, versionRecorded } from '../store/db-versions.js';
import { allInventoryDigests, digestsFor } from '../store/package-index.js';
import { changedKeys } from '../vulndb/delta.js';
import { dbRepositories, pullDatabase } from '../vulndb/install.js';
import { trustedKeys } from '../vulndb/signing.js';
import type { Policy } from '../policy/policy.js';
import { closeStore, openStore } from '../scan/scan.js';
import { rematchFleet, type FleetOutcome, type FleetRematch } from './rematch.js';
import { collectGarbage } from '../store/retention.js';
import { installing } from './install-lock.js';

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
  /**
   * Several replicas on one store: runs an update with every other replica's update held back
   * (a PostgreSQL advisory lock), so a version is applied and its fleet pass run once.
   */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Scans kept per image after each update (0: all); unreferenced finding sets are collected anyway. */
  retainScans?: number;
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

  /**
   * One update at a time: a request during a running update gets that update's outcome. A
   * downgrade (an older signed version, asked for by an administrator) runs on its own and is
   * written to the audit log with who asked. Across replicas, an update runs under `exclusive`.
   */
  async run(downgrade?: { allowDowngrade: true; actor: string }): Promise<DbUpdateOutcome> {
    const ex = this.o.exclusive ?? ((fn) => fn());
    const once = () =>
      ex(async () => {
        const outcome = await this.once(downgrade);
        if (outcome.status === 'installed') await this.collect();
        return outcome;
      });
    if (downgrade) {
      await this.current?.catch(() => undefined);
      return await (this.current = once().finally(() => (this.current = undefined)));
    }
    this.current ??= once().finally(() => (this.current = undefined));
    return this.current;
  }

  /** Old scans past the retention and finding sets nothing names any more (logged, never fatal). */
  private async collect(): Promise<void> {
    try {
      const c = await collectGarbage(this.o.db, this.o.retainScans ?? 0);
      if (c.scans || c.sets) this.o.log('storage collected', c);
    } catch (err) {
      this.o.log('storage collection failed', { reason: (err as Error).message });
    }
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

  private async once(downgrade?: { allowDowngrade: true; actor: string }): Promise<DbUpdateOutcome> {
    const { dbPath } = this.o;
    const prev = `${dbPath}.prev-${process.pid}`;
    rmSync(prev, { force: true });
    const hadOld = existsSync(dbPath);
    if (hadOld) linkSync(dbPath, prev);
    try {
      const r = await installing(dbPath, () =>
        pullDatabase(dbPath, dbRepositories(this.o.repositories), {
          keys: trustedKeys(this.o.trustKeys),
          registry: { insecure: this.o.insecure, retries: 2 },
          allowDowngrade: !!downgrade,
        }),
      );
      if (r.downgradedFrom)
        await audit({ db: this.o.db, actor: downgrade!.actor }, 'db.downgrade', `database:${r.version}`, {
          from: r.downgradedFrom,
          to: r.version,
          origin: r.origin,
        });
      // A replica that followed the repository ahead of the store (it pulled a version nobody has
      // applied yet) applies it now, with a full re-match: its previous copy is gone.
      const ahead =
        r.status === 'current' &&
        (await anyVersionRecorded(this.o.db)) &&
        !(await versionRecorded(this.o.db, r.version));
      if (r.status === 'current' && !ahead)
        return {
          status: 'current',
          version: r.version,
          origin: r.origin,
          bytes: 0,
          changedPackages: 0,
          rescans: 0,
        };
      // (A downgrade is applied again: the fleet must be matched against the older version.)
      if (!r.downgradedFrom && (await versionRecorded(this.o.db, r.version))) {
        // Another replica applied this version and ran its fleet pass: this copy only catches up.
        this.o.log('database brought in step (applied by another replica)', { version: r.version });
        return {
          status: 'installed',
          version: r.version,
          origin: r.origin,
          mode: r.mode,
          bytes: r.bytes,
          changedPackages: 0,
          rescans: 0,
        };
      }
      const keys = hadOld && !ahead ? changedKeys(prev, dbPath) : undefined;
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
