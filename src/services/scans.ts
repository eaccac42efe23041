import { jobKey, type Job, type JobQueue } from '../model/jobs.js';
import { openStore } from '../scan/scan.js';
import type { Db } from '../store/db.js';
import { inventoryKinds, resultsFor } from '../store/images.js';
import { findRegistry } from '../store/registries.js';

/**
 * The one way anything asks for a scan: registry webhooks and polls, CI reports, deployments, the
 * cluster inventory, admission and the database updater. One rule decides what a digest still
 * needs, so a report can never stand in for the server's own scan:
 *
 * - done: the server read the image itself and a result of that inventory holds for this database
 *   version (made with it, or found by a database update still to hold; `full` counts only a
 *   result made with it);
 * - the server's inventory is not matched with this version: a match job (no pull);
 * - no inventory of the server's own and the image lives in a configured registry: a scan job, so
 *   the server reads it itself (a report is then superseded, and compared);
 * - a reported inventory not yet matched with this version: a match job too (its result stands,
 *   marked as reported, until the server's scan lands).
 *
 * Jobs are keyed by (digest, version), so asking twice queues once.
 */

export interface ScanRequest {
  digest?: string;
  /** Where the image lives; with both, the server pulls it when that registry is configured. */
  registry?: string;
  repository?: string;
  /** A tag to resolve (a push by tag without a digest). */
  tag?: string;
  /** What asked: `webhook:distribution`, `ci`, `deployment`, `kubernetes`, `admission`, `db-update`… */
  source: string;
  /** CI context kept with a reported result. */
  context?: Record<string, string>;
  /** A full re-match was asked for: a result that only holds for this version does not count. */
  full?: boolean;
}

export interface ScanDeps {
  db: Db;
  queue: JobQueue;
}

/**
 * The database version scans are keyed by: its build time. Read from the store the matcher keeps
 * open (every re-match asks this first; opening the file each time cost more than the answer).
 */
export function dbVersion(dbPath: string): string {
  return openStore(dbPath).meta('built_at') ?? 'unknown';
}

/** The database version scans are keyed by, or `none` before the server has one. */
export function currentDbVersion(dbPath: string): string {
  try {
    return dbVersion(dbPath);
  } catch {
    return 'none';
  }
}

/** Ask for one scan; says which jobs were queued (false: done already, folded, or impossible). */
export async function requestScan(
  deps: ScanDeps,
  req: ScanRequest,
  version: string,
): Promise<{ scan: boolean; match: boolean }> {
  const [out] = await requestScans(deps, [req], version);
  return out;
}

/** Ask for many at once (a database update's fleet): the store is read once per 500 digests. */
export async function requestScans(
  deps: ScanDeps,
  reqs: ScanRequest[],
  version: string,
): Promise<Array<{ scan: boolean; match: boolean }>> {
  const digests = [...new Set(reqs.map((r) => r.digest).filter((d): d is string => !!d))];
  const inventories = new Map<string, string>();
  const done = new Set<string>();
  for (let i = 0; i < digests.length; i += 500) {
    const chunk = digests.slice(i, i + 500);
    for (const [digest, kind] of await inventoryKinds(deps.db, chunk)) inventories.set(digest, kind);
    // `digest|kind` for each result holding for this version: the rule counts only a result of the
    // inventory's own provenance (a reported one does not make the server's scan needless).
    for (const full of [true, false])
      for (const r of await resultsFor(deps.db, chunk, version, full))
        done.add(`${full ? 'made' : 'held'}|${r.digest}|${r.provenance_kind}`);
  }
  const registries = new Map<string, boolean>();
  const configured = async (host: string) => {
    if (!registries.has(host)) registries.set(host, !!(await findRegistry(deps.db, host)));
    return registries.get(host)!;
  };
  const enqueue = (job: Job) => deps.queue.enqueue(job, jobKey(job, version));
  // The server's own pull: by digest when known, else the tag is resolved first.
  const pullJob = (r: (typeof reqs)[number]): Job => ({
    kind: 'scan',
    registry: r.registry!,
    repository: r.repository!,
    ...(r.digest ? { digest: r.digest } : {}),
    tag: r.tag,
    source: r.source,
  });
  const out: Array<{ scan: boolean; match: boolean }> = [];
  for (const r of reqs) {
    const o = { scan: false, match: false };
    out.push(o);
    const pullable = !!r.registry && !!r.repository && (await configured(r.registry));
    if (!r.digest) {
      if (pullable) o.scan = await enqueue(pullJob(r));
      continue;
    }
    const kind = inventories.get(r.digest);
    const matched =
      !!kind && (done.has(`made|${r.digest}|${kind}`) || (!r.full && done.has(`held|${r.digest}|${kind}`)));
    if (kind === 'server-scan') {
      if (!matched) o.match = await enqueue(matchJob(r));
      continue;
    }
    if (pullable) o.scan = await enqueue(pullJob(r));
    if (kind && !matched) o.match = await enqueue(matchJob(r));
  }
  return out;
}

const matchJob = (r: ScanRequest): Job => ({
  kind: 'match',
  digest: r.digest!,
  source: r.source,
  ...(r.context ? { context: r.context } : {}),
});
