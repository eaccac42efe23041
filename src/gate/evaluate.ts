import { createHash } from 'node:crypto';
import { resultOfRow } from '../store/results.js';
import type { Policy } from '../policy/policy.js';
import { judge, type Decision, type DecisionStatus } from '../policy/judge.js';
import type { ScanResult } from '../model/scan.js';
import type { Db } from '../store/db.js';
import { approvalOf, storedTrustResult } from '../store/approvals.js';
import {
  firstRepositoryOf,
  loadInventory,
  newestScanRow,
  provenanceOf,
  type Provenance,
} from '../store/images.js';
import { activeExceptions, type ExceptionRecord } from '../store/exceptions.js';
import { GateError } from './errors.js';
import { gateSettings, type GateSettings, type TrustRules } from './settings.js';

// The gate's decision for one image digest in one environment (policy/judge.ts#Decision), from the
// stored state read here: the newest scan, the exceptions in force, the environment's policy, its
// approval and its trust result.

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
