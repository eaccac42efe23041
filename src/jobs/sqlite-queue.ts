import { setTimeout as sleep } from 'node:timers/promises';
import { now, type Db } from '../store/db.js';
import type { Job, JobQueue, QueueDepth } from './queue.js';

/**
 * The embedded queue: a table in the same SQLite file. Written here because embedded mode has
 * exactly one process per file, where a leased row and a poll are all a queue needs; pg-boss does
 * this job on PostgreSQL, where several processes compete.
 */
export class SqliteQueue implements JobQueue {
  private running = new Set<Promise<void>>();
  private stopping = false;
  private wakers = new Set<() => void>();
  private wake = () => {
    for (const w of this.wakers) w();
  };
  private loops: Promise<void>[] = [];

  constructor(
    private readonly db: Db,
    private readonly opts: {
      maxAttempts?: number;
      leaseMs?: number;
      backoffMs?: number;
      pollMs?: number;
    } = {},
  ) {}

  async enqueue(job: Job, key: string): Promise<boolean> {
    const t = now();
    const r = await this.db.k
      .insertInto('jobs')
      .values({
        kind: job.kind,
        key,
        payload: JSON.stringify(job),
        state: 'queued',
        attempts: 0,
        max_attempts: this.opts.maxAttempts ?? 4,
        run_after: t,
        lease_until: null,
        last_error: null,
        created_at: t,
        updated_at: t,
      })
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0n) > 0) {
      this.wake();
      return true;
    }
    // The key is known. Where to pull from is the newer request's say, unless that request is a
    // CI report's and the job's came from the server's own side (a registry push, a deployment):
    // a report naming a decoy repository must not pin the server's scan of a digest to it, and
    // must not displace a push's. A running attempt keeps its payload; a retry takes the new one.
    const row = await this.db.k
      .selectFrom('jobs')
      .select(['id', 'state', 'payload'])
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) return false;
    const old = JSON.parse(row.payload) as Job;
    const payload = old.source !== 'ci' && job.source === 'ci' ? row.payload : JSON.stringify(job);
    // A key dead-lettered earlier is tried again: the event that asks now (a push after a report
    // named a digest not yet in the registry) may find what the failed attempts did not.
    if (row.state === 'failed') {
      await this.db.k
        .updateTable('jobs')
        .set({ state: 'queued', attempts: 0, run_after: t, last_error: null, updated_at: t, payload })
        .where('id', '=', row.id)
        .where('state', '=', 'failed')
        .execute();
      this.wake();
      return true;
    }
    if (payload !== row.payload && (row.state === 'queued' || row.state === 'active'))
      await this.db.k.updateTable('jobs').set({ payload, updated_at: t }).where('id', '=', row.id).execute();
    return false;
  }

  /** Claim the oldest ready job (or one whose lease ran out) in one transaction. */
  private async claim(): Promise<{ id: number; job: Job; attempts: number; max: number } | undefined> {
    return this.db.k.transaction().execute(async (tx) => {
      const t = now();
      const row = await tx
        .selectFrom('jobs')
        .select(['id', 'payload', 'attempts', 'max_attempts'])
        .where((eb) =>
          eb.or([
            eb.and([eb('state', '=', 'queued'), eb('run_after', '<=', t)]),
            eb.and([eb('state', '=', 'active'), eb('lease_until', '<', t)]),
          ]),
        )
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (!row) return undefined;
      const lease = new Date(Date.now() + (this.opts.leaseMs ?? 15 * 60_000)).toISOString();
      await tx
        .updateTable('jobs')
        .set({ state: 'active', lease_until: lease, attempts: row.attempts + 1, updated_at: t })
        .where('id', '=', row.id)
        .execute();
      return {
        id: row.id,
        job: JSON.parse(row.payload) as Job,
        attempts: row.attempts + 1,
        max: row.max_attempts,
      };
    });
  }

  async work(handler: (job: Job) => Promise<void>, concurrency: number): Promise<void> {
    // One process owns an embedded store: whatever was running when it last stopped is orphaned.
    await this.db.k
      .updateTable('jobs')
      .set({ state: 'queued', lease_until: null })
      .where('state', '=', 'active')
      .execute();
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop(handler));
  }

  private async loop(handler: (job: Job) => Promise<void>): Promise<void> {
    while (!this.stopping) {
      const c = await this.claim().catch(() => undefined);
      if (!c) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t);
            this.wakers.delete(done);
            resolve();
          };
          const t = setTimeout(done, this.opts.pollMs ?? 500);
          this.wakers.add(done);
        });
        continue;
      }
      const p = this.run(handler, c);
      this.running.add(p);
      await p;
      this.running.delete(p);
    }
  }

  private async run(
    handler: (job: Job) => Promise<void>,
    c: { id: number; job: Job; attempts: number; max: number },
  ): Promise<void> {
    try {
      await handler(c.job);
      await this.db.k
        .updateTable('jobs')
        .set({ state: 'done', lease_until: null, last_error: null, updated_at: now() })
        .where('id', '=', c.id)
        .execute();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const dead = c.attempts >= c.max;
      const delay = (this.opts.backoffMs ?? 2000) * 2 ** (c.attempts - 1);
      await this.db.k
        .updateTable('jobs')
        .set({
          state: dead ? 'failed' : 'queued',
          lease_until: null,
          last_error: reason,
          run_after: new Date(Date.now() + delay).toISOString(),
          updated_at: now(),
        })
        .where('id', '=', c.id)
        .execute()
        .catch(() => {});
    }
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wake();
    const all = Promise.all([...this.running]);
    const done = await Promise.race([all.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done)
      // Hand unfinished jobs back: the next start runs them again (scans are idempotent).
      await this.db.k
        .updateTable('jobs')
        .set({ state: 'queued', lease_until: null })
        .where('state', '=', 'active')
        .execute();
  }

  async depth(): Promise<QueueDepth> {
    const rows = await this.db.k
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', ['queued', 'active', 'failed'])
      .groupBy('state')
      .execute();
    const n = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
    return { queued: n('queued'), active: n('active'), failed: n('failed') };
  }

  async failed(limit: number) {
    const rows = await this.db.k
      .selectFrom('jobs')
      .select(['key', 'payload', 'last_error', 'attempts'])
      .where('state', '=', 'failed')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      key: r.key,
      job: JSON.parse(r.payload) as Job,
      reason: r.last_error ?? '',
      attempts: r.attempts,
    }));
  }
}
