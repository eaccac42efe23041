import pg from 'pg';
import PgBoss from 'pg-boss';
import type { Job, JobQueue, QueueDepth } from './queue.js';

const QUEUE = 'customs-jobs';
const DEAD = 'customs-jobs-dead';

/**
 * The scale-out queue: pg-boss on the same PostgreSQL database (its own schema). Any number of
 * `customs worker` processes compete for jobs; a job whose worker died is expired after
 * `expireSeconds` by pg-boss's maintenance and retried elsewhere.
 */
export class PgQueue implements JobQueue {
  private readonly boss: PgBoss;
  private started: Promise<void> | undefined;
  private workers: string[] = [];

  constructor(
    private readonly url: string,
    private readonly opts: { expireSeconds?: number; retries?: number; supervise?: boolean } = {},
  ) {
    const expire = opts.expireSeconds ?? 15 * 60;
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
        expireInSeconds: this.opts.expireSeconds ?? 15 * 60,
      };
      if (!(await this.boss.getQueue(DEAD))) await this.boss.createQueue(DEAD, { name: DEAD });
      // stately: at most one job per key queued and one running, so duplicate events fold. Retry
      // and expiry travel with each job (see enqueue), so the process that queues decides them.
      if (!(await this.boss.getQueue(QUEUE)))
        await this.boss.createQueue(QUEUE, { name: QUEUE, policy: 'stately', deadLetter: DEAD, ...common });
    }
  }

  async enqueue(job: Job, key: string): Promise<boolean> {
    await this.start();
    const id = await this.boss.send(QUEUE, job, {
      singletonKey: key,
      retryLimit: this.opts.retries ?? 3,
      retryDelay: 2,
      retryBackoff: true,
      expireInSeconds: this.opts.expireSeconds ?? 15 * 60,
    });
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
            await handler(job.data);
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
