/** What the service asks its workers to do. */
export type Job =
  /** Pull an image from a configured registry and scan it (a digest, or a tag to resolve first). */
  | { kind: 'scan'; registry: string; repository: string; digest?: string; tag?: string; source: string }
  /** Re-match a stored inventory (a CI upload) against the server's database. */
  | { kind: 'match'; digest: string; source: string; context?: Record<string, string> }
  /**
   * Sign the image's scan and verdicts with the server's attestation key and push them beside it
   * (registries configured with `attest`). Without a digest: every image attested before whose
   * verdicts expire before `dueBefore` (the periodic re-signing), or all of them (a gate change).
   */
  | { kind: 'attest'; digest?: string; dueBefore?: string; validFor: number; source: string };

export interface QueueDepth {
  queued: number;
  active: number;
  failed: number;
}

/**
 * A durable job queue. `key` makes enqueueing idempotent: a job whose key is queued, running or
 * done is not queued again. Handlers that throw are retried with backoff, then dead-lettered with
 * the error as the reason.
 */
export interface JobQueue {
  enqueue(job: Job, key: string): Promise<boolean>;
  /** Start `concurrency` workers in this process. */
  work(handler: (job: Job) => Promise<void>, concurrency: number): Promise<void>;
  /** Stop taking jobs; wait up to graceMs for running ones, then hand them back to the queue. */
  stop(graceMs: number): Promise<void>;
  depth(): Promise<QueueDepth>;
  /** Dead-lettered jobs with their reasons, newest first. */
  failed(limit: number): Promise<Array<{ key: string; job: Job; reason: string; attempts: number }>>;
}

export const jobKey = (job: Job, dbVersion: string): string =>
  job.kind === 'attest'
    ? // Each request is its own job: the state it signs changed since the last one.
      `attest:${job.digest ?? 'all'}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`
    : job.kind === 'scan'
      ? job.digest
        ? `scan:${job.digest}:${dbVersion}`
        : `resolve:${job.registry}/${job.repository}:${job.tag}:${Date.now()}`
      : `match:${job.digest}:${dbVersion}`;
