import type { ApprovalRecord } from '../model/approval.js';
import type { Provenance } from '../model/provenance.js';
import type { ScanResult } from '../model/scan.js';
import { summarize } from '../rank/risk.js';
import { evaluatePolicy, type Policy } from './policy.js';
import { applyExceptions, type ExceptionLike } from './suppress.js';

/**
 * The gate's decision for one image digest in one environment, from stored state only: the newest
 * scan, the exceptions in force, the environment's policy, its approval and its trust result
 * (gate/evaluate.ts reads them and decides).
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

/** What judging reads of an exception: a vulnerability waiver hides findings, a rule waiver a rule. */
export type JudgedException = ExceptionLike & { rule?: string };

/**
 * A result judged by an environment's policy after the exceptions in force: what fails ("rule-id:
 * what broke it"), which failing rules an exception waives, and the findings it suppressed.
 * An environment the policy does not name has no rules: nothing fails there.
 */
export function judge(
  policy: Policy,
  environment: string,
  r: ScanResult,
  exceptions: JudgedException[],
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
