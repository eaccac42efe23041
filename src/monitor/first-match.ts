import type { Policy } from '../policy/policy.js';
import type { ScanResult } from '../model/scan.js';
import { runScan } from '../scan/session.js';
import { runningContexts, type RankContext } from '../jobs/scan-job.js';
import { recordOutcome } from '../services/outcome.js';
import { normaliseImage } from '../services/report.js';
import { dbVersion } from '../services/scans.js';
import { verdictsFor } from '../gate/verdicts.js';
import { alertBatch, flushAlerts } from '../store/alerts.js';
import { inTransaction, now, type Db } from '../store/db.js';
import {
  changeFindingIndex,
  insertPatchScans,
  latestScans,
  loadInventoriesWithProvenance,
  pointImagesAtNewestScan,
} from '../store/fleet.js';
import { findingChanges } from '../store/finding-events.js';
import { findingIndexChanges } from '../store/finding-index.js';
import { factsOf, pack, summaryColumns } from '../store/results.js';

/**
 * The first result of stored inventories never matched, many at once: what a `match` job does per
 * image (the same runScan, the same result stored, finding index, finding events and alerts), a
 * chunk at a time in one transaction, through the batch the fleet re-match records outcomes with.
 * For seeding a store at fleet size (the monitor bench): a job per image costs a claim, a few
 * statements and a commit each. Digests that already have a result are left to the job queue
 * (returned), as a re-match compares against what they had.
 */
export interface FirstMatch {
  db: Db;
  dbPath: string;
  digests: string[];
  source: string;
  policy?: Policy;
  /** Called after each chunk with how many are done. */
  progress?: (done: number) => void;
}

const CHUNK = 500;

export async function matchUnscanned(
  o: FirstMatch,
): Promise<{ matched: number; skipped: string[]; alerts: number }> {
  const version = dbVersion(o.dbPath);
  const contexts = await runningContexts(o.db);
  const ctxOf = (d: string): RankContext => contexts.get(d) ?? { env: 'production', exposure: 'internet' };
  const out = { matched: 0, skipped: [] as string[], alerts: 0 };
  for (let i = 0; i < o.digests.length; i += CHUNK) {
    const chunk = o.digests.slice(i, i + CHUNK);
    const latest = await latestScans(o.db, chunk);
    const fresh = chunk.filter((d) => !latest.has(d));
    out.skipped.push(...chunk.filter((d) => latest.has(d)));
    const stored = await loadInventoriesWithProvenance(o.db, fresh);
    const made: Array<{
      digest: string;
      result: ScanResult;
      row: Parameters<typeof insertPatchScans>[1][0];
    }> = [];
    const at = now();
    for (const digest of fresh) {
      const s = stored.get(digest);
      if (!s) {
        out.skipped.push(digest);
        continue;
      }
      const t0 = performance.now();
      const { result } = await runScan({
        source: { metadata: normaliseImage(s.inventory.image), inventory: s.inventory },
        dbPath: o.dbPath,
        ...ctxOf(digest),
      });
      made.push({
        digest,
        result,
        row: {
          digest,
          db_version: version,
          source: o.source,
          context: null,
          created_at: at,
          ...summaryColumns(result.summary, factsOf(result)),
          // As saveScan stores it: the packages live with the inventory.
          result: pack((({ packages: _drop, ...rest }) => rest)(result)),
          duration_ms: Math.round(performance.now() - t0),
          base_id: null,
          checked_version: null,
          provenance_kind: s.provenance.kind,
          provenance_by: s.provenance.by,
          provenance_at: s.provenance.at,
        },
      });
    }
    if (made.length)
      out.alerts += await inTransaction(o.db, async (tx) => {
        const inserted = new Set(
          (
            await insertPatchScans(
              tx,
              made.map((m) => m.row),
            )
          ).map((r) => r.digest),
        );
        const done = made.filter((m) => inserted.has(m.digest));
        out.matched += done.length;
        if (!done.length) return 0;
        await pointImagesAtNewestScan(
          tx,
          done.map((m) => m.digest),
        );
        await changeFindingIndex(
          tx,
          [],
          done.flatMap((m) => findingIndexChanges(m.digest, [], m.result.findings).added),
        );
        const batch = await alertBatch(
          tx,
          done.map((m) => m.digest),
        );
        await recordOutcome(
          tx,
          done.map((m) => ({
            digest: m.digest,
            version,
            changes: findingChanges(undefined, m.result),
            results: async () => ({ before: undefined, after: m.result }),
          })),
          {
            policy: o.policy,
            batch,
            at,
            verdicts: o.policy ? (d) => verdictsFor(tx, o.policy!).refresh(d) : undefined,
          },
        );
        return flushAlerts(tx, batch);
      });
    o.progress?.(Math.min(o.digests.length, i + CHUNK));
    // Matching is synchronous work: let others in between chunks.
    await new Promise((r) => setImmediate(r));
  }
  return out;
}
