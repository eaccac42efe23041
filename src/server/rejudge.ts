import type { RejudgeOutcome } from '../gate/verdicts.js';
import type { Db } from '../store/db.js';
import { verdictGeneration } from '../store/verdicts.js';

type Log = (msg: string, fields?: object) => void;

/**
 * The singleton `verdicts`: judges again, off the request path, the running workloads' verdicts
 * that no longer hold, so a list never has to (gate/verdicts.ts#running shows them marked stale
 * meanwhile). The store is its queue: a change of the gate marks the rows it touches and moves the
 * generation; this replica (the one leading the task) sees it move within `pollMs`, or is woken at
 * once by a list here that served stale rows, and runs one pass in an offload thread. (New scans
 * and deployments do not start a pass: the scan job and the re-match judge what they touch, and a
 * list judges a workload it has no verdict for.) Many changes in a row make one pass, a replica killed mid-pass
 * leaves its rows marked for the next leader, and decisions never wait for it (they judge a
 * marked row themselves).
 */
export class Rejudger {
  private timer?: NodeJS.Timeout;
  private active = false;
  private busy = false;
  private woken = false;
  private lastGeneration?: number;
  private nextExpiry: string | null = null;

  constructor(
    private readonly o: { db: Db; pass: () => Promise<RejudgeOutcome>; pollMs: number; log: Log },
  ) {}

  /** Lead the task: a first pass now (the policy may have changed), then on every change. */
  start(): () => void {
    this.active = true;
    this.lastGeneration = undefined;
    this.schedule(0);
    return () => {
      this.active = false;
      clearTimeout(this.timer);
    };
  }

  /** A list served stale rows: pass now rather than at the next poll (only where this replica leads). */
  wake(): void {
    if (!this.active) return;
    this.woken = true;
    if (!this.busy) this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (!this.active || this.busy) return;
    this.busy = true;
    try {
      // Read before the pass: a change landing during it moves the generation again, so it is seen.
      const generation = await verdictGeneration(this.o.db);
      const due =
        this.woken ||
        generation !== this.lastGeneration ||
        (!!this.nextExpiry && this.nextExpiry <= new Date().toISOString());
      this.woken = false;
      if (due) {
        const r = await this.o.pass();
        this.lastGeneration = generation;
        this.nextExpiry = r.nextExpiry;
        if (r.judged || r.failed)
          this.o.log('verdicts judged again', {
            judged: r.judged,
            failed: r.failed,
            ms: Math.round(r.ms),
          });
      }
    } catch (err) {
      this.o.log('verdicts not judged again', { reason: (err as Error).message });
    } finally {
      this.busy = false;
      if (this.active) this.schedule(this.woken ? 0 : this.o.pollMs);
    }
  }
}
