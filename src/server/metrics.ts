import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueue } from '../jobs/queue.js';
import type { Leadership } from './singletons.js';

/** Prometheus metrics of one process: queue depth (from the shared queue), scan times and failures. */
export class Metrics {
  readonly registry = new Registry();
  readonly scanSeconds: Histogram<'outcome'>;
  readonly failures: Counter<'reason'>;
  readonly webhookEvents: Counter<'receiver' | 'result'>;
  readonly admissionSeconds: Histogram<'endpoint' | 'code'>;

  constructor(queue: JobQueue) {
    this.scanSeconds = new Histogram({
      name: 'customs_scan_duration_seconds',
      help: 'Time a scan or re-match job took',
      labelNames: ['outcome'],
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [this.registry],
    });
    this.failures = new Counter({
      name: 'customs_scan_failures_total',
      help: 'Failed scan jobs by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.webhookEvents = new Counter({
      name: 'customs_webhook_requests_total',
      help: 'Webhook requests by receiver and result',
      labelNames: ['receiver', 'result'],
      registers: [this.registry],
    });
    // Admission answers sit in the API server's pod-creation path (timeoutSeconds 5, fail closed):
    // the fine buckets are where an SLO of tens of milliseconds is read.
    this.admissionSeconds = new Histogram({
      name: 'customs_admission_duration_seconds',
      help: 'Time to answer an admission review',
      labelNames: ['endpoint', 'code'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    new Gauge({
      name: 'customs_queue_jobs',
      help: 'Jobs in the queue by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const d = await queue.depth().catch(() => undefined);
        if (!d) return;
        for (const [state, n] of Object.entries(d)) this.set({ state }, n);
      },
    });
  }

  onScan = (ms: number, outcome: 'done' | 'skipped' | 'failed', reason?: string): void => {
    this.scanSeconds.observe({ outcome }, ms / 1000);
    if (outcome === 'failed') this.failures.inc({ reason: reason ?? 'unknown' });
  };

  /** Age of the vulnerability database this process matches with (its build time). */
  trackDatabase(version: () => string): void {
    new Gauge({
      name: 'customs_vulndb_age_seconds',
      help: 'Seconds since the vulnerability database in use was built (absent: no database)',
      registers: [this.registry],
      collect() {
        const built = Date.parse(version());
        if (Number.isFinite(built)) this.set(Math.max(0, (Date.now() - built) / 1000));
      },
    });
  }

  /** Which singletons this replica leads (1) or not (0): the failover is visible from outside. */
  trackLeadership(l: Leadership): void {
    new Gauge({
      name: 'customs_singleton_leader',
      help: 'Singleton tasks this replica runs (1) or leaves to another replica (0)',
      labelNames: ['task', 'replica'],
      registers: [this.registry],
      collect() {
        for (const [task, leads] of Object.entries(l.status()))
          this.set({ task, replica: l.replica }, leads ? 1 : 0);
      },
    });
  }
}
