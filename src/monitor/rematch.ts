import { createHash } from 'node:crypto';
import type { Package } from '../catalog/model.js';
import { runningContexts, type RankContext } from '../jobs/scan-job.js';
import { packageKeys } from '../match/keys.js';
import type { Policy } from '../policy/policy.js';
import { summaryOfTally, tallyOf } from '../rank/risk.js';
import type { Finding, ScanResult } from '../model/scan.js';
import { coverageOf, gapLines, uncoveredParts } from '../scan/coverage.js';
import { databaseInfo, openStore, scanInventory } from '../scan/scan.js';
import { recordOutcome } from '../services/outcome.js';
import { INLINE_REJUDGE, verdictsFor } from '../gate/verdicts.js';
import { staleVerdictsOf } from '../store/verdicts.js';
import { alertBatch, flushAlerts, type AlertBatch } from '../store/alerts.js';
import { inTransaction, now, type Db } from '../store/db.js';
import {
  changeFindingIndex,
  insertPatchScans,
  latestScans,
  loadInventories,
  markHolding,
  pointImagesAtNewestScan,
  previousPatches,
  scanResultBytes,
  storeFindingSets,
  type ScanRow,
} from '../store/fleet.js';
import type { StoredInventory } from '../store/images.js';
import { findingChanges } from '../store/finding-events.js';
import { findingIndexChanges } from '../store/finding-index.js';
import {
  applyPatch,
  findingPackageKey,
  loadSets,
  pack,
  packSet,
  summaryColumns,
  topOf,
  unpack,
  type FindingSet,
  type ResultPatch,
  type ScanFacts,
  type SetRef,
  type StoredResult,
} from '../store/results.js';

/**
 * The fleet's re-match after a database update, done as one batch instead of one job per image.
 *
 * A database change touches a few (ecosystem, package) pairs. For each stored inventory that holds
 * one, only those packages are matched, against the old and the new database (answers shared
 * across the fleet: images hold the same packages), and the results compared. Where nothing
 * differs, the image's scan is marked as holding for the new version; where something does, a
 * patch (those packages' findings, the new grade and counts worked out from the stored tally) is
 * stored over the previous result, with the finding events and alerts a full re-match would give.
 * Images the change does not touch are marked too. Whatever this cannot do exactly (no previous
 * result at the old version, a different rank context, a patch grown large) goes to the job queue
 * for a full re-match.
 */
export interface FleetRematch {
  db: Db;
  oldPath: string;
  newPath: string;
  oldVersion: string;
  newVersion: string;
  /** The (ecosystem, name) pairs whose advisories changed. */
  keys: Array<{ ecosystem: string; name: string }>;
  /** The inventories holding one of them. */
  digests: string[];
  /** Every stored inventory (the untouched ones are marked as holding for the new version). */
  all: string[];
  policy?: Policy;
  log?: (msg: string, fields?: object) => void;
}

export interface FleetOutcome {
  /** Inventories whose findings changed: a patch stored. */
  patched: number;
  /** Inventories that hold a changed package whose findings did not change. */
  unchanged: number;
  /** Marked as holding for the new version (unchanged and untouched). */
  marked: number;
  /** For a full re-match by the job queue. */
  fallback: string[];
  alerts: number;
}

/** Past this many packages a patch is no longer small: the next re-match stores a whole result. */
const MAX_PATCH_PACKAGES = 64;
const CHUNK = 250;

/** One image's patch and what storing it records beside it. */
interface PatchWrite {
  digest: string;
  prev: ScanRow;
  patch: ResultPatch;
  facts: ScanFacts;
  /** The packages matched anew: their findings before and now. */
  sub: Package[];
  oldFindings: Finding[];
  newFindings: Finding[];
  introduced: Finding[];
  fixed: Finding[];
  changed: Finding[];
  packages: Package[];
  /** The patch the previous scan is, if it is one. */
  prevPatch?: ResultPatch;
}

/** Time spent in each part of storing patches, over a pass (its log line says where it went). */
type Phases = Record<string, number>;
const timed = async <T>(phases: Phases, name: string, fn: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    phases[name] = (phases[name] ?? 0) + performance.now() - t;
  }
};

type Sub = FindingSet & { json?: string; packed?: { hash: string; data: Buffer } };

export async function rematchFleet(o: FleetRematch): Promise<FleetOutcome> {
  const keySet = new Set(o.keys.map((k) => `${k.ecosystem}\u0000${k.name}`));
  const contexts = await runningContexts(o.db);
  const batch = await alertBatch(o.db, [...contexts.keys()]);
  const ctxOf = (d: string): RankContext => contexts.get(d) ?? { env: 'production', exposure: 'internet' };
  const out: FleetOutcome = { patched: 0, unchanged: 0, marked: 0, fallback: [], alerts: 0 };
  const t0 = performance.now();
  let storeMs = 0;
  // Where the pass's time goes, for its log line: reading the chunk, matching, marking the rest.
  let readMs = 0;
  let markMs = 0;
  const phases: Phases = {};
  // Running images with a new result: their verdicts no longer hold.
  const judge: string[] = [];
  // One package set matched once per database and rank context, whichever image holds it.
  const memo = new Map<string, Sub>();
  const match = (path: string, inv: StoredInventory, sub: Package[], ctx: RankContext): Sub => {
    const key = createHash('sha1')
      .update(path)
      .update(JSON.stringify([inv.os ?? null, ctx.env, ctx.exposure, sub]))
      .digest('base64');
    let r = memo.get(key);
    if (!r) {
      const res = scanInventory(
        inv.image,
        { os: inv.os, packages: sub, warnings: [] },
        { dbPath: path, ...ctx },
      );
      r = { findings: res.findings, suppressed: res.suppressed ?? [] };
      memo.set(key, r);
    }
    return r;
  };
  let database: ScanResult['database'] | undefined;
  // Finding sets by hash: those read or made in this pass, those stored, those to store.
  const sets = new Map<string, FindingSet>();
  const stored = new Set<string>();
  const toStore = new Map<string, Buffer>();
  const touched = new Set(o.digests);
  const holds: string[] = o.all.filter((d) => !touched.has(d));

  for (let i = 0; i < o.digests.length; i += CHUNK) {
    const chunk = o.digests.slice(i, i + CHUNK);
    const r0 = performance.now();
    const latest = await latestScans(o.db, chunk);
    const eligible = chunk.filter((d) => {
      const s = latest.get(d);
      if (!s?.tally || (s.db_version !== o.oldVersion && s.checked_version !== o.oldVersion)) return false;
      const facts = JSON.parse(s.tally) as ScanFacts;
      const ctx = ctxOf(d);
      return facts.env === ctx.env && facts.exposure === ctx.exposure;
    });
    const eligibleSet = new Set(eligible);
    out.fallback.push(...chunk.filter((d) => !eligibleSet.has(d)));
    const inventories = await loadInventories(o.db, eligible);
    const patches = await previousPatches(
      o.db,
      eligible.map((d) => latest.get(d)!).filter((s) => s.base_id !== null),
    );
    readMs += performance.now() - r0;
    const writes: PatchWrite[] = [];
    for (const digest of eligible) {
      const inv = inventories.get(digest);
      const prev = latest.get(digest)!;
      if (!inv) {
        out.fallback.push(digest);
        continue;
      }
      const keysOf = packageKeys(inv.os);
      const sub = inv.packages.filter((p) =>
        keysOf(p).some((k) => keySet.has(`${k.ecosystem}\u0000${k.name}`)),
      );
      const ctx = ctxOf(digest);
      const before = match(o.oldPath, inv, sub, ctx);
      const after = match(o.newPath, inv, sub, ctx);
      before.json ??= JSON.stringify({ findings: before.findings, suppressed: before.suppressed });
      after.json ??= JSON.stringify({ findings: after.findings, suppressed: after.suppressed });
      if (before.json === after.json) {
        holds.push(digest);
        out.unchanged++;
        continue;
      }
      const old = patches.get(prev.id);
      const subKeys = new Set(sub.map((p) => findingPackageKey(p)));
      // The previous patch's sets stay, but for the packages matched now: a set that covers some of
      // them is stored again without them.
      const refs: SetRef[] = [];
      for (const r of old?.sets ?? []) {
        if (!r.keys.some((k) => subKeys.has(k))) {
          refs.push(r);
          continue;
        }
        const keys = r.keys.filter((k) => !subKeys.has(k));
        if (!keys.length) continue;
        const whole = (await loadSets(o.db, [r.hash], sets)).get(r.hash)!;
        const keep = (f: Finding) => !subKeys.has(findingPackageKey(f.package));
        const rest = { findings: whole.findings.filter(keep), suppressed: whole.suppressed.filter(keep) };
        const part = packSet(rest);
        sets.set(part.hash, rest);
        toStore.set(part.hash, part.data);
        refs.push({ hash: part.hash, keys });
      }
      // The same serialisation the comparison above made.
      after.packed ??= packSet(after, after.json);
      sets.set(after.packed.hash, after);
      if (!stored.has(after.packed.hash)) toStore.set(after.packed.hash, after.packed.data);
      refs.push({ hash: after.packed.hash, keys: [...subKeys] });
      if (refs.reduce((n, r) => n + r.keys.length, 0) > MAX_PATCH_PACKAGES) {
        out.fallback.push(digest);
        continue;
      }
      database ??= databaseInfo(openStore(o.newPath), o.newPath);
      const facts = JSON.parse(prev.tally!) as ScanFacts;
      const coverage = coverageOf(openStore(o.newPath), inv.os, inv.packages, database);
      const uncovered = uncoveredParts(coverage);
      if (uncovered.length) [facts.uncovered, facts.gaps] = [uncovered, gapLines(coverage)];
      else {
        delete facts.uncovered;
        delete facts.gaps;
      }
      tallyOf(before.findings, facts, -1);
      const others = facts.total;
      tallyOf(after.findings, facts, 1);
      facts.suppressed = (facts.suppressed ?? 0) - before.suppressed.length + after.suppressed.length;
      // The riskiest finding (the risk's words in list views): kept where it still is the riskiest;
      // unknown where its package got less risky (another package's finding may lead now).
      const best = topOf(after.findings);
      const wasHere = !!facts.top && subKeys.has(facts.top.key);
      if (best && (!others || (facts.top && best.score >= facts.top.score))) facts.top = best;
      else if (wasHere || (!facts.top && !others)) delete facts.top;
      const changes = findingChanges(before, after);
      writes.push({
        digest,
        prev,
        facts,
        sub,
        oldFindings: before.findings,
        newFindings: after.findings,
        introduced: changes.introduced,
        fixed: changes.fixed,
        changed: changes.changed,
        packages: inv.packages,
        prevPatch: old,
        patch: {
          patch: 2,
          sets: refs,
          database,
          createdAt: new Date().toISOString(),
          summary: summaryOfTally(facts, facts),
          coverage,
        },
      });
    }
    // One transaction a chunk: thousands of index rows per commit instead of a commit per statement
    // (measured: the finding index's pages were written out again at every statement's commit).
    const t1 = performance.now();
    if (writes.length)
      out.alerts += await inTransaction(o.db, async (tx) => {
        await timed(phases, 'sets', () => storeFindingSets(tx, toStore));
        for (const h of toStore.keys()) stored.add(h);
        toStore.clear();
        return storePatches({ ...o, db: tx }, writes, contexts, sets, batch, phases, judge);
      });
    storeMs += performance.now() - t1;
    out.patched += writes.length;
    // Matching is synchronous work: let the API answer between chunks.
    await new Promise((r) => setImmediate(r));
  }
  const m0 = performance.now();
  out.marked = await markHolding(o.db, holds, o.oldVersion, o.newVersion);
  markMs = performance.now() - m0;
  // A few are judged again now, as a scan job does, so the overview finds them ready. More (a
  // change that touches a fleet: thousands of running images at 20 ms each would hold the pass for
  // minutes) are marked stale: lists show them marked while the singleton `verdicts` judges them
  // again off the pass, and a decision judges a marked one itself.
  if (o.policy && judge.length)
    await timed(phases, 'verdicts', async () => {
      if (judge.length <= INLINE_REJUDGE) await verdictsFor(o.db, o.policy!).refresh(judge);
      else await staleVerdictsOf(o.db, judge);
    });
  o.log?.('fleet re-matched', {
    dbVersion: o.newVersion,
    touched: o.digests.length,
    patched: out.patched,
    unchanged: out.unchanged,
    marked: out.marked,
    fallback: out.fallback.length,
    alerts: out.alerts,
    sharedMatches: memo.size,
    ms: Math.round(performance.now() - t0),
    storeMs: Math.round(storeMs),
    readMs: Math.round(readMs),
    markMs: Math.round(markMs),
    storePhases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v)])),
  });
  return out;
}

/**
 * Store a chunk's patches, with what a full re-match records beside its result: the images'
 * newest scan, the finding index, the finding events and the alerts of the images running somewhere.
 */
async function storePatches(
  o: FleetRematch,
  writes: PatchWrite[],
  contexts: Map<string, RankContext>,
  sets: Map<string, FindingSet>,
  batch: AlertBatch,
  phases: Phases,
  judge: string[],
): Promise<number> {
  const { db } = o;
  const at = now();
  const inserted = await timed(phases, 'scans', () =>
    insertPatchScans(
      db,
      writes.map((w) => ({
        digest: w.digest,
        db_version: o.newVersion,
        source: 'db-update',
        context: null,
        created_at: at,
        ...summaryColumns(w.patch.summary, w.facts),
        result: pack(w.patch),
        duration_ms: 0,
        base_id: w.prev.base_id ?? w.prev.id,
        checked_version: null,
        provenance_kind: w.prev.provenance_kind,
        provenance_by: w.prev.provenance_by,
        provenance_at: w.prev.provenance_at,
      })),
    ),
  );
  const stored = new Set(inserted.map((r) => r.digest));
  const done = writes.filter((w) => stored.has(w.digest));
  if (!done.length) return 0;
  await timed(phases, 'images', () =>
    pointImagesAtNewestScan(
      db,
      done.map((w) => w.digest),
    ),
  );
  // The finding index: the replaced packages' rows out, the new findings' rows in.
  // By difference, as for a full re-match: most of the replaced packages' rows stay as they are.
  const changes = done.map((w) => findingIndexChanges(w.digest, w.oldFindings, w.newFindings));
  const gone = changes.flatMap((c) => c.gone);
  const added = changes.flatMap((c) => c.added);
  await timed(phases, 'index', () => changeFindingIndex(db, gone, added));
  // Alerts go to images running somewhere (the rest have no environment to alert for), in one
  // insert with what the pass read once (where images run, channels, exceptions). The policy alert
  // compares whole results: the bases of those images' patches are read here, 200 at a time.
  const alerting = done.filter((w) => contexts.has(w.digest) && w.introduced.length);
  const bases = new Map<number, Buffer | Uint8Array>();
  if (o.policy && alerting.length) {
    const ids = [...new Set(alerting.map((w) => w.prev.base_id ?? w.prev.id))];
    for (const [id, result] of await scanResultBytes(db, ids)) bases.set(id, result);
    await loadSets(
      db,
      alerting.flatMap((w) => w.prevPatch?.sets.map((r) => r.hash) ?? []),
      sets,
    );
  }
  await timed(phases, 'outcome', () =>
    recordOutcome(
      db,
      done.map((w) => ({
        digest: w.digest,
        version: o.newVersion,
        changes: w,
        results: async () => {
          const baseBytes = bases.get(w.prev.base_id ?? w.prev.id);
          if (!baseBytes) return undefined;
          const base = unpack<StoredResult>(baseBytes);
          const before = w.prevPatch ? applyPatch(base, w.prevPatch, sets) : base;
          const after = applyPatch(base, w.patch, sets);
          return { before: { ...before, packages: w.packages }, after: { ...after, packages: w.packages } };
        },
      })),
      {
        policy: o.policy,
        batch,
        at,
        // Collected for the end of the pass (judged there, or marked for the background).
        verdicts: o.policy
          ? async (d) => {
              judge.push(...d);
            }
          : undefined,
      },
    ),
  );
  return timed(phases, 'alerts', () => flushAlerts(db, batch));
}
