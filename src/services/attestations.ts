import { jobKey, type Job, type JobQueue } from '../model/jobs.js';
import type { Db } from '../store/db.js';
import { anyRegistryAttests } from '../store/registries.js';

/** Seconds a verdict the server signs holds unless the server is told otherwise (--attest-valid-for). */
export const DEFAULT_ATTEST_VALID_FOR = 86_400;

/**
 * Queue the signing of an image's attestations (or, without a digest, a sweep of the images
 * attested before). The job reads what it signs from the store and decides whether any registry
 * the image is in attests, so queueing is cheap and a request never waits on a registry. Where no
 * registry attests at all, nothing is queued: a job per scan and per gate change for nothing would
 * double the queue's writes.
 */
export function requestAttestation(
  s: { queue: JobQueue; db: Db },
  validFor: number,
  log: (m: string, f?: object) => void,
  o: { digest?: string; dueBefore?: string; source: string },
): void {
  const job: Job = { kind: 'attest', ...o, validFor };
  void (async () => {
    if (!(await anyRegistryAttests(s.db))) return;
    await s.queue.enqueue(job, jobKey(job, ''));
  })().catch((err: unknown) => log('attestation not queued', { reason: (err as Error).message }));
}
