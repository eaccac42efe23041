import { createHash } from 'node:crypto';
import { resultOfRow } from '../store/results.js';
import { evaluatePolicy, type Policy } from '../policy/policy.js';
import type { ScanResult } from '../model/scan.js';
import { summarize } from '../rank/risk.js';
import type { Db } from '../store/db.js';
import { approvalOf, approvalRecord, storedTrustResult, type ApprovalRecord } from '../store/approvals.js';
import {
  firstRepositoryOf,
  loadInventory,
  newestScanRow,
  provenanceOf,
  type Provenance,
} from '../store/images.js';

// Approvals are stored in store/approvals.ts; re-exported for the callers that knew them here.
export { approvalOf, approvalRecord, type ApprovalRecord };
import { activeExceptions, applyExceptions, type ExceptionRecord } from './exceptions.js';
import { GateError } from './errors.js';
import { gateSettings, type GateSettings, type TrustRules } from './settings.js';

/**
 * The gate's decision for one image digest in one environment, from stored state only: the newest
 * scan, the exceptions in force, the environment's policy, its approval and its trust result.
 */

export type DecisionStatus =
  | 'approved'
  | 'auto-approved'
  | 'pending'
  | 'rejected'
  | 'suspended'
  | 'policy-failed'
  | 'untrusted'
  | 'not-scanned'
  | 'not-verified';

export interface Decision {
  digest: string;
  environment: string;
  allowed: boolean;
  status: DecisionStatus;
  /** Why, one line each (the admission message joins them). */
  reasons: string[];
  policy: {
    passed: boolean;
    /** "rule-id: what broke it", one line per offending item, waived rules left out. */
    failures: string[];
    waivedRules: string[];
  } | null;
  approval: ApprovalRecord | null;
  trust: { required: boolean; trusted: boolean; checked: boolean; reason: string } | null;
  scan: { grade: string; risk: number; dbVersion: string; scannedAt: string } | null;
  /** Who read the inventory the decision's result was matched from. */
  provenance: Provenance | null;
  suppressed: number;
  evaluatedAt: string;
}

/** A stable name for a set of trust rules: trust results are kept per (digest, rules). */
export function trustRulesId(t: TrustRules): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        t.keys.map((k) => k.trim()).sort(),
        t.identities,
        t.trustedRoot ?? null,
        t.builders,
        t.sources,
      ]),
    )
    .digest('hex');
}

export async function trustResult(
  db: Db,
  digest: string,
  rules: TrustRules,
): Promise<{ trusted: boolean; reason: string; checkedAt: string } | undefined> {
  return storedTrustResult(db, digest, trustRulesId(rules));
}

/** The newest scan of a digest as a full result (packages from the stored inventory). */
export async function latestResult(
  db: Db,
  digest: string,
): Promise<
  | {
      result: ScanResult;
      grade: string;
      risk: number;
      dbVersion: string;
      scannedAt: string;
      provenance: Provenance;
    }
  | undefined
> {
  const s = await newestScanRow(db, digest);
  if (!s) return undefined;
  const result = (await resultOfRow(db, s)) as ScanResult;
  result.packages = (await loadInventory(db, digest))?.packages ?? [];
  return {
    result,
    grade: s.grade,
    risk: Number(s.risk),
    dbVersion: s.db_version,
    scannedAt: s.created_at,
    provenance: provenanceOf(s),
  };
}

export interface EvaluateOptions {
  policy: Policy;
  at?: Date;
  /** registry/repository, when the caller knows it (exceptions may be scoped to one). */
  repository?: string;
}

/** The policy part alone: failures after exceptions, as approvals record and compare them. */
export async function policyState(
  db: Db,
  digest: string,
  environment: string,
  o: EvaluateOptions,
  /** The environment's gate, when the caller has read it already. */
  known?: GateSettings,
): Promise<{
  failures: string[];
  waivedRules: string[];
  suppressed: number;
  scan: Decision['scan'];
  provenance: Provenance | null;
  result?: ScanResult;
  /** The exceptions in force for it (their expiry bounds how long the answer holds). */
  exceptions: ExceptionRecord[];
}> {
  const latest = await latestResult(db, digest);
  if (!latest)
    return { failures: [], waivedRules: [], suppressed: 0, scan: null, provenance: null, exceptions: [] };
  const repository = o.repository ?? (await firstRepositoryOf(db, digest));
  const exceptions = await activeExceptions(db, { repository, digest }, environment, o.at);
  // A signed-by rule reads the verdict on the environment's own trust keys.
  const gate = known ?? (await gateSettings(db, environment));
  const trust =
    gate && (gate.trust.keys.length || gate.trust.identities.length)
      ? await trustResult(db, digest, gate.trust)
      : undefined;
  const { failures, waivedRules, suppressed, result } = judge(
    o.policy,
    environment,
    latest.result,
    exceptions,
    {
      at: o.at,
      signature: trust ? { trusted: trust.trusted, reason: trust.reason } : undefined,
    },
  );
  return {
    failures,
    waivedRules,
    suppressed,
    result,
    exceptions,
    provenance: latest.provenance,
    scan: {
      grade: latest.grade,
      risk: latest.risk,
      dbVersion: latest.dbVersion,
      scannedAt: latest.scannedAt,
    },
  };
}

/**
 * A result judged by an environment's policy after the exceptions in force: what fails ("rule-id:
 * what broke it"), which failing rules an exception waives, and the findings it suppressed.
 * An environment the policy does not name has no rules: nothing fails there.
 */
export function judge(
  policy: Policy,
  environment: string,
  r: ScanResult,
  exceptions: ExceptionRecord[],
  o: { at?: Date; signature?: ScanResult['signature'] } = {},
): { failures: string[]; waivedRules: string[]; suppressed: number; result: ScanResult } {
  const { kept, suppressed } = applyExceptions(r.findings, exceptions);
  const result: ScanResult = {
    ...r,
    findings: kept,
    suppressed: [...(r.suppressed ?? []), ...suppressed],
    // Grade and counts of what the gate sees: after the exceptions, not the scan's own.
    summary: suppressed.length
      ? summarize(kept, {
          osEndOfLife: !!r.os?.eol?.endOfLife,
          // Findings mean something was recognised, even where the packages were not loaded.
          recognised: !!r.os || (r.packages?.length ?? 0) > 0 || r.findings.length > 0,
        })
      : r.summary,
    signature: o.signature,
  };
  const waived = new Set(exceptions.filter((e) => e.rule).map((e) => e.rule!));
  const failures: string[] = [];
  const waivedRules: string[] = [];
  const rules = policy.environments[environment] ? evaluatePolicy(policy, environment, result, o.at) : [];
  for (const x of rules) {
    if (x.status !== 'fail') continue;
    if (waived.has(x.id)) waivedRules.push(x.id);
    else failures.push(...x.offending.map((line) => `${x.id}: ${line}`));
  }
  return { failures, waivedRules, suppressed: suppressed.length, result };
}

export async function evaluate(
  db: Db,
  digest: string,
  environment: string,
  o: EvaluateOptions,
): Promise<Decision> {
  return (await evaluateWithResult(db, digest, environment, o)).decision;
}

/**
 * The decision with what it was made from: the result after the exceptions (for advice and the
 * grade's reason) and the exceptions in force (gate/verdicts.ts keeps all of it).
 */
export async function evaluateWithResult(
  db: Db,
  digest: string,
  environment: string,
  o: EvaluateOptions,
): Promise<{ decision: Decision; result?: ScanResult; exceptions: ExceptionRecord[] }> {
  const gate = await gateSettings(db, environment);
  if (!gate) throw new GateError(`no environment ${environment}`, 'not_found');
  return decide(db, digest, environment, gate, o);
}

async function decide(
  db: Db,
  digest: string,
  environment: string,
  gate: GateSettings,
  o: EvaluateOptions,
): Promise<{ decision: Decision; result?: ScanResult; exceptions: ExceptionRecord[] }> {
  const at = o.at ?? new Date();
  const approval = await approvalOf(db, digest, environment);
  const p = await policyState(db, digest, environment, o, gate);
  const trust = gate.requireSignature
    ? await trustResult(db, digest, gate.trust).then((t) =>
        t
          ? { required: true, trusted: t.trusted, checked: true, reason: t.reason }
          : {
              required: true,
              trusted: false,
              checked: false,
              reason: 'its signature has not been checked yet',
            },
      )
    : null;
  const base = {
    digest,
    environment,
    approval,
    trust,
    scan: p.scan,
    provenance: p.provenance,
    suppressed: p.suppressed,
    evaluatedAt: at.toISOString(),
    policy: p.scan ? { passed: !p.failures.length, failures: p.failures, waivedRules: p.waivedRules } : null,
  };
  const verdict = (allowed: boolean, status: DecisionStatus, reasons: string[]) => ({
    decision: { ...base, allowed, status, reasons } as Decision,
    result: p.result,
    exceptions: p.exceptions,
  });
  const short = (l: string[]) => (l.length > 5 ? [...l.slice(0, 5), `… and ${l.length - 5} more`] : l);

  if (approval?.state === 'rejected')
    return verdict(false, 'rejected', [
      `rejected for ${environment} by ${approval.decidedBy}: ${approval.decisionReason ?? ''}`.trim(),
    ]);
  if (!p.scan)
    return verdict(gate.unknownImage === 'allow', 'not-scanned', [
      `not scanned yet (${environment} ${gate.unknownImage === 'allow' ? 'admits' : 'denies'} unknown images)`,
    ]);
  if (p.provenance?.kind !== 'server-scan' && !gate.acceptReported)
    return verdict(false, 'not-verified', [notVerified(environment, p.provenance)]);
  if (trust && !trust.trusted) return verdict(false, 'untrusted', [`not trusted: ${trust.reason}`]);
  if (approval?.state === 'approved') {
    const accepted = new Set(approval.acceptedFailures);
    const fresh = p.failures.filter((f) => !accepted.has(f));
    if (fresh.length && !gate.keepApprovalOnPolicyFailure)
      return verdict(false, 'suspended', [
        `the approval by ${approval.decidedBy} is suspended: policy failures found since it was given`,
        ...short(fresh),
      ]);
    return verdict(true, 'approved', [`approved for ${environment} by ${approval.decidedBy}`]);
  }
  if (p.failures.length)
    return verdict(false, 'policy-failed', [`fails the ${environment} policy`, ...short(p.failures)]);
  if (gate.autoApprove) return verdict(true, 'auto-approved', [`passes the ${environment} policy`]);
  return verdict(false, 'pending', [
    approval?.state === 'revoked'
      ? `its approval for ${environment} was revoked by ${approval.decidedBy}`
      : `not approved for ${environment} yet`,
  ]);
}

/** Why a result the server did not read itself does not count in an environment. */
export function notVerified(environment: string, p: Provenance | null): string {
  return `not verified by the server: its only result is ${p?.kind === 'attested-sbom' ? 'from an attested SBOM' : `from a report by ${p?.by ?? 'a client'}`} (${environment} does not accept reported results; the server's own scan replaces it once the image is pulled from a configured registry)`;
}
