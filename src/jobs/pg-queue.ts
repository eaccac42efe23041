import { hostname } from 'node:os';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { Job, JobQueue, QueueDepth } from './queue.js';

const QUEUE = 'customs-jobs';
const DEAD = 'customs-jobs-dead';
const WORKER = `${hostname()}:${process.pid}`;

/**
 * The scale-out queue: pg-boss on the same PostgreSQL database (its own schema). Any number of
 * `customs worker` processes compete for jobs.
 *
 * A job's worker holds a lease it renews while it lives (a row in `customs_lease`, touched every
 * third of `leaseSeconds`); a job whose lease went stale is failed back into the queue by whichever
 * process reaps first, and runs again elsewhere. So a worker killed with SIGKILL costs about
 * `leaseSeconds` (30 s by default) rather than pg-boss's expiry, which must stay longer than the
 * longest legitimate scan: pg-boss 10 has no heartbeat of its own, and its expiry is also the
 * client-side timeout of the handler. `runSeconds` is that backstop (the scan deadline plus margin).
 */
export class PgQueue implements JobQueue {
  private readonly boss: PgBoss;
  private started: Promise<void> | undefined;
  private workers: string[] = [];
  private reaper?: NodeJS.Timeout;
  private reaping = false;

  constructor(
    private readonly url: string,
    private readonly opts: {
      /** Seconds without a renewed lease before a running job is handed to another worker. */
      leaseSeconds?: number;
      /** Seconds a job may run at all (pg-boss's expiry; longer than the scan deadline). */
      runSeconds?: number;
      retries?: number;
      supervise?: boolean;
    } = {},
  ) {
    const expire = Math.min(opts.leaseSeconds ?? 30, opts.runSeconds ?? 15 * 60);
    this.boss = new PgBoss({
      connectionString: url,
      schema: 'customs_jobs',
      application_name: 'customs',
      supervise: opts.supervise ?? true,
      maintenanceIntervalSeconds: Math.max(1, Math.min(120, Math.floor(expire / 2))),
      monitorStateIntervalSeconds: 10,
    });
    // A lost connection is retried by pg-boss; the event must not crash the process.
    this.boss.on('error', (err) => process.stderr.write(`customs: job queue: ${err.message}\n`));
  }

  private start(): Promise<void> {
    this.started ??= this.startOnce();
    return this.started;
  }

  /**
   * Processes starting at the same moment race on pg-boss's schema and queue rows (deadlocks):
   * set-up runs under a PostgreSQL advisory lock, one process at a time.
   */
  private async startOnce(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      await c.query("SELECT pg_advisory_lock(hashtext('customs-jobs-setup'))");
      await this.setUp();
    } finally {
      await c.query("SELECT pg_advisory_unlock(hashtext('customs-jobs-setup'))").catch(() => {});
      await c.end().catch(() => {});
    }
  }

  private async setUp(): Promise<void> {
    {
      await this.boss.start();
      const common = {
        retryLimit: this.opts.retries ?? 3,
        retryDelay: 2,
        retryBackoff: true,
        expireInSeconds: this.opts.runSeconds ?? 15 * 60,
      };
      if (!(await this.boss.getQueue(DEAD))) await this.boss.createQueue(DEAD, { name: DEAD });
      // stately: at most one job per key queued and one running, so duplicate events fold. Retry
      // and expiry travel with each job (see enqueue), so the process that queues decides them.
      if (!(await this.boss.getQueue(QUEUE)))
        await this.boss.createQueue(QUEUE, { name: QUEUE, policy: 'stately', deadLetter: DEAD, ...common });
      await this.boss.getDb().executeSql(
        `CREATE TABLE IF NOT EXISTS customs_jobs.customs_lease (
           job_id uuid PRIMARY KEY, worker text NOT NULL, seen_at timestamptz NOT NULL DEFAULT now())`,
        [],
      );
      // Each lease says how long it lasts: processes with different --job-expire share one queue,
      // and a reaper must judge another process's lease by that process's setting, not its own.
      await this.boss
        .getDb()
        .executeSql(
          `ALTER TABLE customs_jobs.customs_lease ADD COLUMN IF NOT EXISTS lease_seconds integer`,
          [],
        );
    }
    if (this.opts.supervise ?? true) {
      const every = Math.max(1, Math.floor(this.lease / 2)) * 1000;
      this.reaper = setInterval(() => void this.reap().catch(() => undefined), every);
      this.reaper.unref();
    }
  }

  private get lease(): number {
    return this.opts.leaseSeconds ?? 30;
  }

  /**
   * Running jobs whose lease went stale (or that never took one, the worker having died at once)
   * are failed, so pg-boss retries them.
   */
  private async reap(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      // Claimed atomically: moving started_on makes the job look fresh to any other reaper, so a
      // job is failed (and a retry spent) once per death.
      const { rows } = await this.boss.getDb().executeSql(
        `UPDATE customs_jobs.job SET started_on = now()
          WHERE id IN (
            SELECT j.id FROM customs_jobs.job j
              LEFT JOIN customs_jobs.customs_lease l ON l.job_id = j.id
             WHERE j.name = $1 AND j.state = 'active'
               AND j.started_on < now() - make_interval(secs => GREATEST($2, 10))
               AND (l.seen_at IS NULL
                    OR l.seen_at < now() - make_interval(secs => COALESCE(l.lease_seconds, $2)))
             FOR UPDATE OF j SKIP LOCKED)
            AND state = 'active' AND started_on < now() - make_interval(secs => GREATEST($2, 10))
          RETURNING id`,
        [QUEUE, this.lease],
      );
      const ids = (rows as Array<{ id: string }>).map((r) => r.id);
      if (!ids.length) return;
      const reason = { message: 'its worker stopped renewing its lease' };
      for (const id of ids) await this.boss.fail(QUEUE, id, reason);
      await this.boss
        .getDb()
        .executeSql(`DELETE FROM customs_jobs.customs_lease WHERE job_id = ANY($1::uuid[])`, [ids]);
      process.stderr.write(`customs: ${ids.length} job(s) of a lost worker handed back to the queue\n`);
    } finally {
      this.reaping = false;
    }
  }

  /** Hold a job's lease while `run` goes on. */
  private async leased(id: string, run: () => Promise<void>): Promise<void> {
    const sql = this.boss.getDb();
    const touch = () =>
      sql.executeSql(
        `INSERT INTO customs_jobs.customs_lease (job_id, worker, lease_seconds) VALUES ($1, $2, $3)
           ON CONFLICT (job_id) DO UPDATE
             SET seen_at = now(), worker = EXCLUDED.worker, lease_seconds = EXCLUDED.lease_seconds`,
        [id, WORKER, this.lease],
      );
    await touch();
    const timer = setInterval(() => void touch().catch(() => undefined), Math.max(1, this.lease / 3) * 1000);
    try {
      await run();
    } finally {
      clearInterval(timer);
      await sql
        .executeSql(`DELETE FROM customs_jobs.customs_lease WHERE job_id = $1`, [id])
        .catch(() => undefined);
    }
  }

  async enqueue(job: Job, key: string): Promise<boolean> {
    await this.start();
    const id = await this.boss.send(QUEUE, job, {
      singletonKey: key,
      retryLimit: this.opts.retries ?? 3,
      retryDelay: 2,
      retryBackoff: true,
      expireInSeconds: this.opts.runSeconds ?? 15 * 60,
    });
    if (id === null)
      // Folded into a job of the same key: where to pull from is the newer request's say, unless
      // that is a CI report's and the job's came from the server's side (see SqliteQueue.enqueue).
      // A running attempt keeps its payload; a retry takes the new one.
      await this.boss.getDb().executeSql(
        `UPDATE customs_jobs.job SET data = $3::jsonb
          WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry', 'active')
            AND (data->>'source' = 'ci' OR $4 <> 'ci') AND data IS DISTINCT FROM $3::jsonb`,
        [QUEUE, key, JSON.stringify(job), job.source],
      );
    return id !== null;
  }

  async work(handler: (job: Job) => Promise<void>, concurrency: number): Promise<void> {
    await this.start();
    for (let i = 0; i < concurrency; i++) {
      const worker: { id?: string } = {};
      worker.id = await this.boss.work<Job>(
        QUEUE,
        { batchSize: 1, pollingIntervalSeconds: 0.5 },
        async ([job]) => {
          try {
            await this.leased(job.id, () => handler(job.data));
          } finally {
            // pg-boss waits out the polling interval after every job, even with more queued: a
            // re-match of thousands of inventories ran at two jobs a second per worker. A worker
            // that just finished one asks for the next at once; an empty queue still waits.
            if (worker.id) this.boss.notifyWorker(worker.id);
          }
        },
      );
      this.workers.push(worker.id);
    }
  }

  async stop(graceMs: number): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => {});
    if (this.reaper) clearInterval(this.reaper);
    // Graceful: running jobs finish within the timeout; the rest expire and are retried elsewhere.
    await new Promise<void>((resolve) => {
      this.boss.once('stopped', () => resolve());
      this.boss.stop({ graceful: true, timeout: graceMs, close: true }).catch(() => resolve());
      setTimeout(resolve, graceMs + 2000).unref();
    });
  }

  async depth(): Promise<QueueDepth> {
    await this.start();
    const [queued, active, failed] = await Promise.all([
      this.boss.getQueueSize(QUEUE, { before: 'active' }),
      this.boss
        .getQueueSize(QUEUE, { before: 'completed' })
        .then(async (n) => n - (await this.boss.getQueueSize(QUEUE, { before: 'active' }))),
      this.boss.getQueueSize(DEAD),
    ]);
    return { queued, active, failed };
  }

  async failed(limit: number) {
    await this.start();
    const { rows } = await this.boss.getDb().executeSql(
      `SELECT singleton_key AS key, data, output, retry_count AS attempts FROM customs_jobs.job
         WHERE name = $1 AND state = 'failed' ORDER BY completed_on DESC LIMIT $2`,
      [QUEUE, limit],
    );
    return rows.map(
      (r: { key: string; data: Job; output: { message?: string } | null; attempts: number }) => ({
        key: r.key,
        job: r.data,
        reason: r.output?.message ?? JSON.stringify(r.output ?? ''),
        attempts: r.attempts + 1,
      }),
    );
  }
}
