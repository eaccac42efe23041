import { createHash } from 'node:crypto';
import { baseLayerCount, planFor, upgrades } from '../advise/advise.js';
import type { ScanResult } from '../model/scan.js';
import { evaluatePolicy, policyChangesAt, type Policy } from '../policy/policy.js';
import { explainImageRisk } from '../rank/explain.js';
import { coverageGaps, uncoveredParts } from '../scan/coverage.js';
import { runsOf } from '../store/alerts.js';
import { runningWithVerdicts } from '../store/deployments.js';
import type { Db } from '../store/db.js';
import type { ExceptionRecord } from '../store/exceptions.js';
import {
  holds,
  putVerdict,
  runningStamp,
  scanStamp,
  storedVerdict,
  verdictGeneration,
  type VerdictRow,
} from '../store/verdicts.js';
import { evaluateWithResult } from './evaluate.js';
import type { Decision } from '../policy/judge.js';

/**
 * Stored verdicts: the gate's decision per (environment, repository, digest) with what a list of
 * running workloads shows beside it, judged once and kept until something it depends on changes
 * (store/verdicts.ts says what). The overview reads thousands of them in one query instead of
 * judging every running image on every request (1.1 s at 300 images before; docs/server.md).
 */

/** What the overview shows of a verdict, beside the scan's own summary columns. */
export interface VerdictSummary {
  allowed: boolean;
  status: Decision['status'];
  reasons: string[];
  /** The grade's reason in one line ("3 fixable critical"). */
  gradeReason: string | null;
  /** Parts of the image the database does not cover, and the line saying why (empty: covered). */
  coverage: { complete: boolean; uncovered: string[]; gaps: string } | null;
  /** The first step the image page's advice gives: the fix of a failing rule, else the best upgrade. */
  topFix: string | null;
  /** An approval given over policy failures: how many of today's failures it accepted, who, when. */
  accepted: { count: number; by: string | null; at: string | null } | null;
  /** Exceptions in force for the image here: how many, who made them, the first expiry. */
  exceptions: { count: number; by: string[]; until: string } | null;
  /** A signature rule waits for its check (admission starts it in the background). */
  trustUnchecked: boolean;
  /**
   * What the gate sees of the scan here, after this environment's exceptions: grade, counts, and
   * the risk with its words (the image page's text); `waived`: what the exceptions set aside.
   */
  seen: {
    grade: string;
    counts: { critical: number; high: number; kev: number; fixable: number; total: number };
    risk: { score: number; explanation: string };
    waived: { total: number; kev: number; fixable: number };
  } | null;
}

/**
 * The shape of a stored summary: part of the policy id a verdict is kept under, so verdicts stored
 * in an older shape are judged again (once) instead of read without their newer fields.
 */
const SUMMARY_SHAPE = 2;

/** Longest a verdict is kept without a change: a bound on what time-dependent rules could miss. */
const MAX_AGE_MS = 24 * 3_600_000;

export class Verdicts {
  readonly policyId: string;
  private listed?: { stamp: string; until: string; rows: RunningRow[]; stale: boolean };
  /** A list with stale rows being read again behind the one served meanwhile. */
  private rereading?: Promise<RunningRow[]>;

  constructor(
    private readonly db: Db,
    private readonly policy: Policy,
  ) {
    this.policyId = createHash('sha256')
      .update(`${SUMMARY_SHAPE}\n${JSON.stringify(policy)}`)
      .digest('hex');
  }

  /** The stored decision if it still holds, else judged now (and stored). */
  async decision(digest: string, environment: string, repository = ''): Promise<Decision> {
    const [row, scan] = await Promise.all([
      storedVerdict(this.db, environment, repository, digest),
      scanStamp(this.db, digest),
    ]);
    if (row && holds(row, scan, this.policyId)) return JSON.parse(row.data) as Decision;
    return (await this.judge(digest, environment, repository)).decision;
  }

  /** Whether a row read in bulk (store/deployments.ts#runningWithVerdicts) still holds. */
  holds(
    v: Pick<VerdictRow, 'scan_id' | 'scan_at' | 'policy' | 'valid_until' | 'stale_since'>,
    scan: { id: number; at: string } | undefined,
  ): boolean {
    return holds(v, scan, this.policyId);
  }

  /** Judge an image in an environment now and store the verdict (unless the gate changed meanwhile). */
  async judge(
    digest: string,
    environment: string,
    repository = '',
  ): Promise<{ decision: Decision; summary: VerdictSummary; validUntil: string }> {
    // Both read before judging: a change or a new scan landing meanwhile leaves the row behind,
    // so it is judged again (never the other way round).
    const generation = await verdictGeneration(this.db);
    const scan = await scanStamp(this.db, digest);
    const at = new Date();
    const { decision, result, exceptions } = await evaluateWithResult(this.db, digest, environment, {
      policy: this.policy,
      repository: repository || undefined,
      at,
    });
    const summary = summarize(this.policy, environment, decision, result, exceptions, at);
    const until = [
      at.getTime() + MAX_AGE_MS,
      ...exceptions.map((e) => Date.parse(e.expiresAt)),
      result ? (policyChangesAt(this.policy, environment, result, at)?.getTime() ?? Infinity) : Infinity,
    ].reduce((a, b) => Math.min(a, b));
    try {
      await putVerdict(this.db, {
        environment,
        repository,
        digest,
        generation,
        scan_id: scan?.id ?? null,
        scan_at: scan?.at ?? null,
        policy: this.policyId,
        valid_until: new Date(until).toISOString(),
        computed_at: at.toISOString(),
        allowed: decision.allowed ? 1 : 0,
        status: decision.status,
        data: JSON.stringify(decision),
        summary: JSON.stringify(summary),
        stale_since: null,
      });
    } catch {
      /* not kept (a busy store): the answer stands, the next reader judges again */
    }
    return { decision, summary, validUntil: new Date(until).toISOString() };
  }

  /**
   * Called when a list served verdicts marked stale (server/rejudge.ts wakes the background pass
   * where this replica runs it; elsewhere the leading replica finds them on its own).
   */
  onStale?: () => void;
  private passing?: Promise<unknown>;

  /**
   * Every workload running now, one row each, with its verdict: stored ones that hold as they are;
   * those with none, and up to INLINE_REJUDGE that lapsed (an approval, a new scan), judged now;
   * past that (a change of an environment's gate lapses all of it) the previous verdicts are
   * served marked `stale` (since when) and judged again in the background (`rejudge`), so the list
   * answers at once. A stale row only ever feeds a list: decisions judge it again (`decision`).
   * A record without a workload (`customs deploy` without --namespace/--service) is left out where
   * workload rows of the same repository and digest exist in its environment: they are the same
   * thing, seen better.
   */
  async running(): Promise<RunningRow[]> {
    // The list is kept while nothing it is made of changed (every replica reads the same stamp
    // from the store) and no verdict in it ran out of time: a request then costs a few aggregates.
    const stamp = await runningStamp(this.db);
    const hit = this.listed;
    if (hit && hit.stamp === stamp) {
      if (hit.until > new Date().toISOString()) return hit.rows;
      // Stale rows shown while the background judges them: read the list again behind the one
      // served (their progress shows on a later request), rather than make every request wait
      // for a whole read (1–1.5 s at 10,000 workloads on a loaded machine).
      if (hit.stale) {
        this.rereading ??= this.read(stamp).finally(() => (this.rereading = undefined));
        this.rereading.catch(() => undefined);
        return hit.rows;
      }
    }
    return this.read(stamp);
  }

  private async read(stamp: string): Promise<RunningRow[]> {
    let until = new Date(Date.now() + MAX_AGE_MS).toISOString();
    const sooner = (t: string | null | undefined) => {
      if (t && t < until) until = t;
    };
    const kept = folded(await runningWithVerdicts(this.db));
    const out: RunningRow[] = new Array(kept.length);
    const missing: number[] = [];
    const lapsed: number[] = [];
    kept.forEach((r, i) => {
      const summary = r.v_summary == null ? undefined : (JSON.parse(r.v_summary) as VerdictSummary);
      if (!summary) missing.push(i);
      else if (this.holds(rowStamp(r), scanOf(r))) sooner(r.v_valid_until);
      else lapsed.push(i);
      out[i] = rowOf(r, summary);
    });
    const inline = lapsed.length <= INLINE_REJUDGE ? [...missing, ...lapsed] : missing;
    const stale = inline === missing ? lapsed : [];
    for (const i of stale) out[i].stale = staleSince(kept[i]);
    // Judged a few at a time: PostgreSQL answers several at once; SQLite queues them anyway.
    let next = 0;
    const worker = async () => {
      while (next < inline.length) {
        const i = inline[next++];
        const r = kept[i];
        try {
          const j = await this.judge(r.digest, r.environment, `${r.registry}/${r.repository}`);
          sooner(j.validUntil);
          out[i] = rowOf(r, j.summary);
        } catch {
          out[i] = rowOf(r, undefined);
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    if (stale.length) {
      if (this.onStale) this.onStale();
      // No server around it (an embedded use): a pass here, one at a time.
      else
        this.passing ??= this.rejudge()
          .catch(() => undefined)
          .finally(() => (this.passing = undefined));
    }
    const listed = out.filter((r) => r.verdict);
    // A judgement that failed leaves its row out: not kept, the next request tries again. Stale
    // rows are kept briefly only: the stamp does not move when the background stores a verdict,
    // so the list is read again (behind the one served) every STALE_LIST_MS to show the progress.
    if (stale.length) {
      const briefly = new Date(Date.now() + STALE_LIST_MS).toISOString();
      if (briefly < until) until = briefly;
    }
    this.listed =
      listed.length === out.length ? { stamp, until, rows: listed, stale: stale.length > 0 } : undefined;
    return listed;
  }

  /**
   * The background side of `running`: judge again every running workload's verdict that does not
   * hold (marked stale by a change, lapsed, or never judged), a page at a time. Run by one replica
   * (the singleton `verdicts`, in an offload thread). `stop` is asked between pages.
   */
  async rejudge(stop: () => boolean = () => false): Promise<RejudgeOutcome> {
    const started = performance.now();
    const seen = new Set<string>();
    const todo: Joined[] = [];
    let nextExpiry: string | null = null;
    for (const r of folded(await runningWithVerdicts(this.db))) {
      const repository = `${r.registry}/${r.repository}`;
      const key = `${r.environment}|${repository}|${r.digest}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (r.v_summary != null && this.holds(rowStamp(r), scanOf(r))) {
        if (r.v_valid_until && (!nextExpiry || r.v_valid_until < nextExpiry)) nextExpiry = r.v_valid_until;
      } else todo.push(r);
    }
    let judged = 0;
    let failed = 0;
    for (let p = 0; p < todo.length && !stop(); p += REJUDGE_PAGE) {
      const page = todo.slice(p, p + REJUDGE_PAGE);
      let next = 0;
      const worker = async () => {
        while (next < page.length) {
          const r = page[next++];
          try {
            const j = await this.judge(r.digest, r.environment, `${r.registry}/${r.repository}`);
            if (!nextExpiry || j.validUntil < nextExpiry) nextExpiry = j.validUntil;
            judged++;
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    }
    return {
      judged,
      failed,
      left: todo.length - judged - failed,
      nextExpiry,
      ms: performance.now() - started,
    };
  }

  /**
   * A new result was recorded for these digests: judge them again where they run now, so the
   * overview finds them ready (services/outcome.ts calls this for a scan job and the re-match).
   */
  async refresh(digests: string[]): Promise<number> {
    let n = 0;
    const runs = await runsOf(this.db, digests);
    for (const [digest, list] of runs) {
      const seen = new Set<string>();
      for (const r of list) {
        const key = `${r.environment}|${r.registry}/${r.repository}`;
        if (seen.has(key)) continue;
        seen.add(key);
        try {
          await this.judge(digest, r.environment, `${r.registry}/${r.repository}`);
          n++;
        } catch {
          /* an environment gone meanwhile: the overview judges what is left when it asks */
        }
      }
    }
    return n;
  }
}

/**
 * Lapsed verdicts a list judges on its request: an approval or a new scan touches a few. More
 * (a change of an environment's gate) are shown stale and judged again in the background.
 */
export const INLINE_REJUDGE = 50;
/** How long a list with stale rows is kept (while the background pass runs). */
const STALE_LIST_MS = 2000;
/** Verdicts judged again per page of the background pass (between pages it may be stopped). */
const REJUDGE_PAGE = 200;

export interface RejudgeOutcome {
  judged: number;
  failed: number;
  /** Not reached: the pass was stopped. */
  left: number;
  /** When the first verdict that holds now runs out of time (then there is work again). */
  nextExpiry: string | null;
  ms: number;
}

/** Records without a workload folded into workload rows of the same image (see `running`). */
function folded(rows: Joined[]): Joined[] {
  const withWorkload = new Set(
    rows
      .filter((r) => r.namespace || r.service)
      .map((r) => `${r.environment}|${r.registry}/${r.repository}|${r.digest}`),
  );
  return rows.filter(
    (r) =>
      r.namespace ||
      r.service ||
      !withWorkload.has(`${r.environment}|${r.registry}/${r.repository}|${r.digest}`),
  );
}

const scanOf = (r: Joined) => (r.scan_id == null ? undefined : { id: Number(r.scan_id), at: r.scan_at! });

const rowStamp = (r: Joined) => ({
  scan_id: r.v_scan_id,
  scan_at: r.v_scan_at,
  policy: r.v_policy!,
  valid_until: r.v_valid_until,
  stale_since: r.v_stale_since,
});

/** Since when a verdict that no longer holds is out of date: the change, the new scan, its expiry. */
function staleSince(r: Joined): string {
  if (r.v_stale_since) return r.v_stale_since;
  if (r.v_valid_until && r.v_valid_until <= new Date().toISOString()) return r.v_valid_until;
  if (r.scan_at && r.scan_at > (r.v_computed_at ?? '')) return r.scan_at;
  return r.v_computed_at ?? new Date().toISOString();
}

/** A decision as a list shows it, with the grade's reason, coverage and the first fix. */
export function summarize(
  policy: Policy,
  environment: string,
  d: Decision,
  r: ScanResult | undefined,
  exceptions: ExceptionRecord[],
  at = new Date(),
): VerdictSummary {
  let topFix: string | null = null;
  // Advice is a nicety beside the decision: a result it cannot read (a partial one) gives none.
  if (r)
    try {
      topFix = firstFix(policy, environment, r, at);
    } catch {
      topFix = null;
    }
  const approval = d.approval?.state === 'approved' ? d.approval : null;
  const acceptedNow = approval
    ? (d.policy?.failures ?? []).filter((f) => approval.acceptedFailures.includes(f)).length
    : 0;
  return {
    allowed: d.allowed,
    status: d.status,
    reasons: d.reasons,
    gradeReason: r?.summary?.gradeReason ?? null,
    coverage: r?.coverage
      ? {
          complete: r.coverage.complete,
          uncovered: uncoveredParts(r.coverage),
          gaps: coverageGaps(r.coverage),
        }
      : null,
    topFix,
    accepted:
      approval && acceptedNow ? { count: acceptedNow, by: approval.decidedBy, at: approval.decidedAt } : null,
    exceptions: exceptions.length
      ? {
          count: exceptions.length,
          by: [...new Set(exceptions.map((e) => e.approvedBy ?? e.createdBy))],
          until: exceptions.map((e) => e.expiresAt).sort()[0],
        }
      : null,
    trustUnchecked: !!d.trust && !d.trust.checked,
    seen: r ? seenOf(r) : null,
  };
}

/** The result as the gate judged it (after exceptions), with what the exceptions waived. */
function seenOf(r: ScanResult): NonNullable<VerdictSummary['seen']> {
  return {
    grade: r.summary.grade,
    counts: {
      critical: r.summary.bySeverity.CRITICAL,
      high: r.summary.bySeverity.HIGH,
      kev: r.summary.kev,
      fixable: r.summary.fixable,
      total: r.summary.total,
    },
    risk: explainImageRisk(r.findings, r.suppressed?.length ?? 0),
    waived: waivedOf(r),
  };
}

/** What the exceptions set aside of a judged result: how many findings, and KEV and fixable among them. */
export function waivedOf(r: Pick<ScanResult, 'suppressed'>): { total: number; kev: number; fixable: number } {
  const w = (r.suppressed ?? []).filter((f) => f.suppression.by === 'exception');
  return {
    total: w.length,
    kev: w.filter((f) => f.kev).length,
    fixable: w.filter((f) => f.status === 'fixed').length,
  };
}

const shared = new WeakMap<Policy, WeakMap<Db, Verdicts>>();

/** One Verdicts per policy and store (the policy's hash is computed once). */
export function verdictsFor(db: Db, policy: Policy): Verdicts {
  let byDb = shared.get(policy);
  if (!byDb) shared.set(policy, (byDb = new WeakMap()));
  let v = byDb.get(db);
  if (!v) byDb.set(db, (v = new Verdicts(db, policy)));
  return v;
}

type Joined = Awaited<ReturnType<typeof runningWithVerdicts>>[number];

export interface RunningRow {
  environment: string;
  registry: string;
  repository: string;
  digest: string;
  tags: string[];
  namespace: string | null;
  service: string | null;
  deployedAt: string;
  source: string;
  scan: {
    grade: string;
    risk: number;
    counts: { critical: number; high: number; kev: number; fixable: number; total: number };
    uncovered: string[];
    dbVersion: string;
    scannedAt: string;
    provenance: { kind: string; by: string | null };
  } | null;
  verdict?: VerdictSummary;
  /** The verdict shown no longer holds and is being judged again (since when): lists only. */
  stale?: string;
}

function rowOf(r: Joined, verdict: VerdictSummary | undefined): RunningRow {
  return {
    environment: r.environment,
    registry: r.registry,
    repository: r.repository,
    digest: r.digest,
    tags: r.tags ? (JSON.parse(r.tags) as string[]) : [],
    namespace: r.namespace || null,
    service: r.service || null,
    deployedAt: r.deployed_at,
    source: r.source,
    scan:
      r.scan_id == null
        ? null
        : {
            grade: r.grade!,
            risk: Number(r.risk),
            counts: {
              critical: Number(r.critical),
              high: Number(r.high),
              kev: Number(r.kev),
              fixable: Number(r.fixable),
              total: Number(r.total),
            },
            uncovered: ((r.tally ? JSON.parse(r.tally) : {}) as { uncovered?: string[] }).uncovered ?? [],
            dbVersion: r.db_version!,
            scannedAt: r.scan_at!,
            provenance: { kind: r.provenance_kind!, by: r.provenance_by ?? null },
          },
    verdict,
  };
}

/** The image page's advice (routes/image-view.ts): its first step. */
function firstFix(policy: Policy, environment: string, r: ScanResult, at: Date): string | null {
  const adv = upgrades(r, baseLayerCount(r));
  const rules = policy.environments[environment] ? evaluatePolicy(policy, environment, r, at) : [];
  const plan = planFor(rules, { upgrades: adv.upgrades }, r);
  const u = adv.upgrades[0];
  return (
    plan[0] ??
    (u
      ? `upgrade ${u.package} ${u.from} → ${u.to} (fixes ${u.fixes.length} vulnerabilit${u.fixes.length === 1 ? 'y' : 'ies'})`
      : null)
  );
}
