import { Worker } from 'node:worker_threads';
import { CustomsError } from '../errors.js';
import type { Job } from '../jobs/queue.js';
import type { StoredReport } from '../services/reports.js';
import type { FleetOutcome, FleetRematch } from '../monitor/rematch.js';
import type { RejudgeOutcome } from '../gate/verdicts.js';

/** How a thread reaches what the server has: the same store, key, database and policy. */
export interface OffloadConfig {
  database?: string;
  data?: string;
  secretKeyFile: string;
  dbPath: string;
  policyFile?: string;
  deadlineMs: number;
  memoryMb: number;
}

export type RematchArgs = Omit<FleetRematch, 'db' | 'policy' | 'log'>;
type Task =
  | { type: 'report'; chunks: Uint8Array[]; by: string }
  | { type: 'job'; job: Job }
  | { type: 'rematch'; args: RematchArgs }
  | { type: 'rejudge' };
export type OffloadTask = Task & { id: number };

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/**
 * A fixed set of worker threads, one task each at a time, started lazily and restarted when one
 * dies (a task that ran out of its heap fails; the next task gets a fresh thread).
 */
class Pool {
  private idle: Worker[] = [];
  private all = new Set<Worker>();
  private waiting: Array<{ task: Task; transfer: ArrayBuffer[]; p: Pending }> = [];
  private pending = new Map<number, { w: Worker; p: Pending }>();
  private next = 1;
  private closed = false;

  constructor(
    private readonly cfg: OffloadConfig,
    private readonly size: number,
    private readonly events: {
      log?: (msg: string, fields?: object) => void;
      onScan?: (ms: number, outcome: 'done' | 'skipped' | 'failed', reason?: string) => void;
      afterResult?: (digest: string) => void;
    },
  ) {}

  run<T>(task: Task, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the server is stopping'));
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ task, transfer, p: { resolve: resolve as (v: unknown) => void, reject } });
      this.pump();
    });
  }

  private pump(): void {
    while (this.waiting.length) {
      const w = this.idle.pop() ?? (this.all.size < this.size ? this.spawn() : undefined);
      if (!w) return;
      const { task, transfer, p } = this.waiting.shift()!;
      const id = this.next++;
      this.pending.set(id, { w, p });
      w.postMessage({ ...task, id }, transfer);
    }
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./offload-thread.js', import.meta.url), {
      workerData: this.cfg,
      resourceLimits: { maxOldGenerationSizeMb: this.cfg.memoryMb },
    });
    this.all.add(w);
    w.on(
      'message',
      (m: {
        id?: number;
        type?: string;
        ok?: boolean;
        value?: unknown;
        user?: boolean;
        message?: string;
        msg?: string;
        fields?: object;
        ms?: number;
        outcome?: 'done' | 'skipped' | 'failed';
        reason?: string;
        digest?: string;
      }) => {
        if (m.type === 'log') return this.events.log?.(m.msg!, m.fields);
        if (m.type === 'result') return this.events.afterResult?.(m.digest!);
        if (m.type === 'scan') return this.events.onScan?.(m.ms!, m.outcome!, m.reason);
        const e = this.pending.get(m.id!);
        if (!e) return;
        this.pending.delete(m.id!);
        this.idle.push(w);
        if (m.ok) e.p.resolve(m.value);
        else e.p.reject(m.user ? new CustomsError(m.message!) : new Error(m.message));
        this.pump();
      },
    );
    const gone = (why: string) => {
      if (!this.all.delete(w)) return;
      this.idle = this.idle.filter((x) => x !== w);
      for (const [id, e] of this.pending)
        if (e.w === w) {
          this.pending.delete(id);
          e.p.reject(new Error(`worker thread ended: ${why}`));
        }
      if (!this.closed) this.pump();
    };
    w.on('error', (err) =>
      gone(
        /heap|memory/i.test(err.message) ? `ran out of memory (cap ${this.cfg.memoryMb} MiB)` : err.message,
      ),
    );
    w.on('exit', (code) => gone(`exit ${code}`));
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((w) => w.terminate()));
  }
}

/**
 * What `customs server` runs off its event loop: report uploads (one thread of their own, so an
 * upload never waits behind a scan) and queue jobs (one thread per in-process worker).
 */
export class Offload {
  private reports: Pool;
  private jobs: Pool;
  private verdicts: Pool;

  constructor(
    cfg: OffloadConfig,
    jobThreads: number,
    events: {
      log?: (msg: string, fields?: object) => void;
      onScan?: (ms: number, outcome: 'done' | 'skipped' | 'failed', reason?: string) => void;
      afterResult?: (digest: string) => void;
    } = {},
  ) {
    this.reports = new Pool(cfg, 1, events);
    this.jobs = new Pool(cfg, Math.max(1, jobThreads), events);
    // Its own thread (started on first use): a pass after a gate change does not wait behind an
    // upload or a re-match, nor they behind it.
    this.verdicts = new Pool(cfg, 1, events);
  }

  /** The chunks are moved, not copied: each must own its buffer (the ingest route copies them so). */
  storeReport = (chunks: Uint8Array[], by: string): Promise<StoredReport> =>
    this.reports.run<StoredReport>(
      { type: 'report', chunks, by },
      chunks.map((c) => c.buffer as ArrayBuffer),
    );

  runJob = (job: Job): Promise<void> => this.jobs.run<void>({ type: 'job', job });

  /** A database update's fleet re-match, in the report thread (one at a time, like reports). */
  rematch = (args: RematchArgs): Promise<FleetOutcome> =>
    this.reports.run<FleetOutcome>({ type: 'rematch', args });

  /** Judge again the running workloads' verdicts that do not hold (gate/verdicts.ts#rejudge). */
  rejudge = (): Promise<RejudgeOutcome> => this.verdicts.run<RejudgeOutcome>({ type: 'rejudge' });

  close(): Promise<void> {
    return Promise.all([this.reports.close(), this.jobs.close(), this.verdicts.close()]).then(
      () => undefined,
    );
  }
}
