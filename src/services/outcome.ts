import type { Policy } from '../policy/policy.js';
import type { Finding, ScanResult } from '../model/scan.js';
import { judge } from '../policy/judge.js';
import { queueAlerts, queueNotice, runsOf, type AlertBatch } from '../store/alerts.js';
import type { Db } from '../store/db.js';
import { activeExceptions, exceptionsFor } from '../store/exceptions.js';
import { findingEventRows, insertFindingEvents } from '../store/finding-events.js';

/**
 * What a new result of an image records beside itself, the same whether one scan job made it or
 * the fleet re-match patched it after a database update: the finding events (new, fixed, changed),
 * an alert per environment the image runs in for the new findings its rules select, and a
 * `policy` alert where the environment's policy now fails on something it did not fail on before.
 */
export interface Outcome {
  digest: string;
  /** The database version the result is of. */
  version: string;
  changes: { introduced: Finding[]; fixed: Finding[]; changed: Finding[] };
  /**
   * The results before and after, for the policy alert (read only when one may be due: the batch
   * builds them from stored patches).
   */
  results?: () => Promise<{ before: ScanResult | undefined; after: ScanResult } | undefined>;
}

/**
 * Record outcomes (one for a scan job, a chunk for the fleet re-match) and say how many alerts were
 * queued. With a `batch`, alert rows gather in it for the caller to flush (one insert for a chunk).
 */
export async function recordOutcome(
  db: Db,
  outcomes: Outcome[],
  o: {
    policy?: Policy;
    batch?: AlertBatch;
    at?: string;
    /**
     * Judge the images again where they run (gate/verdicts.ts#Verdicts.refresh), so the stored
     * verdicts the overview reads are ready; passed from above, as the gate sits above services.
     */
    verdicts?: (digests: string[]) => Promise<unknown>;
  } = {},
): Promise<number> {
  const events = outcomes.flatMap((x) => findingEventRows(x.digest, x.version, x.changes, o.at));
  await insertFindingEvents(db, events);
  let alerts = 0;
  for (const x of outcomes) {
    if (!x.changes.introduced.length) continue;
    // A batch knows where its images run: those running nowhere have no environment to alert.
    if (o.batch && !o.batch.runs.has(x.digest)) continue;
    alerts += await queueAlerts(db, x.digest, x.version, x.changes.introduced, o.batch);
    if (!o.policy || !x.results) continue;
    const r = await x.results();
    if (r)
      alerts += await alertNewPolicyFailures(db, o.policy, x.digest, x.version, r.before, r.after, o.batch);
  }
  if (o.verdicts) {
    // Only images running somewhere have a verdict anyone reads without asking.
    const digests = outcomes.map((x) => x.digest).filter((d) => !o.batch || o.batch.runs.has(d));
    if (digests.length) await o.verdicts(digests);
  }
  return alerts;
}

/**
 * After a re-match: where the image runs now, does its environment's policy fail on something it
 * did not fail on before? One `policy` alert per image, environment and database version.
 */
export async function alertNewPolicyFailures(
  db: Db,
  policy: Policy,
  digest: string,
  dbVersion: string,
  before: ScanResult | undefined,
  after: ScanResult,
  batch?: AlertBatch,
): Promise<number> {
  const runs = batch ? (batch.runs.get(digest) ?? []) : ((await runsOf(db, [digest])).get(digest) ?? []);
  let queued = 0;
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.environment) || !policy.environments[r.environment]) continue;
    seen.add(r.environment);
    const repository = `${r.registry}/${r.repository}`;
    const exceptions = batch
      ? exceptionsFor(batch.exceptions, { repository, digest }, r.environment)
      : await activeExceptions(db, { repository, digest }, r.environment);
    // The stored previous result has no package list: both sides judge the same packages.
    const was = new Set(
      before
        ? judge(policy, r.environment, { ...before, packages: after.packages }, exceptions).failures
        : [],
    );
    const fresh = judge(policy, r.environment, after, exceptions).failures.filter((f) => !was.has(f));
    if (!fresh.length) continue;
    const image = `${repository}@${digest}`;
    queued += await queueNotice(
      db,
      {
        kind: 'policy',
        key: `policy:${digest}:${r.environment}:${dbVersion}`,
        environment: r.environment,
        subject: image,
        summary: `${image} running in ${r.environment} now fails its policy: ${fresh[0]}${fresh.length > 1 ? ` (and ${fresh.length - 1} more)` : ''}`,
        items: [],
      },
      batch,
    );
  }
  return queued;
}
