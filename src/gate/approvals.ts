import type { Db } from '../store/db.js';
import { findEnvironment } from '../store/deployments.js';
import { now } from '../store/db.js';
import { withAudit } from '../services/audit.js';
import { GateError } from './errors.js';
import { approvalOf, putApproval } from '../store/approvals.js';
import type { ApprovalRecord } from '../model/approval.js';
import { notVerified, policyState, type EvaluateOptions } from './evaluate.js';
import { actorOf, gateSettings, mayActFor, type Principal } from './settings.js';

/**
 * Approvals: a digest is approved, rejected or revoked for one environment by someone holding the
 * approver role for it. With four-eyes, the approver must not be the one who requested it (and an
 * approval needs a request). The policy failures the approver saw are recorded with the approval:
 * failures a later rescan adds suspend it (unless the environment keeps approvals).
 */

async function mustExist(db: Db, environment: string) {
  if (!(await findEnvironment(db, environment)))
    throw new GateError(`no environment ${environment}`, 'not_found');
}

export async function requestApproval(
  db: Db,
  p: Principal,
  digest: string,
  environment: string,
  reason: string,
): Promise<ApprovalRecord> {
  await mustExist(db, environment);
  if (!mayActFor(p, 'report', environment))
    throw new GateError(`this caller may not request approvals for ${environment}`, 'forbidden');
  const current = await approvalOf(db, digest, environment);
  if (current?.state === 'approved') throw new GateError(`already approved for ${environment}`, 'conflict');
  // A request must not erase an approver's rejection (it would turn back into "pending", or into
  // "auto-approved" where the environment approves by itself): only an approver undoes it.
  if (current?.state === 'rejected')
    throw new GateError(
      `rejected for ${environment} by ${current.decidedBy ?? 'an approver'}: only an approver can decide again`,
      'conflict',
    );
  return withAudit({ db, actor: actorOf(p) }, 'approval.request', async (trx) => {
    const t = now();
    const values = {
      state: 'requested',
      requested_by: actorOf(p),
      request_reason: reason,
      requested_at: t,
      decided_by: null,
      decision_reason: null,
      decided_at: null,
      accepted_failures: null,
    };
    await putApproval(trx, digest, environment, values);
    return {
      value: (await approvalOf(trx, digest, environment))!,
      subject: `${environment}/${digest}`,
      details: { reason },
    };
  });
}

export async function decideApproval(
  db: Db,
  p: Principal,
  digest: string,
  environment: string,
  decision: 'approve' | 'reject' | 'revoke',
  reason: string,
  o: EvaluateOptions,
): Promise<ApprovalRecord> {
  await mustExist(db, environment);
  const gate = (await gateSettings(db, environment))!;
  if (!mayActFor(p, 'approve', environment))
    throw new GateError(
      p.permissions.includes('approve')
        ? `this approver may act for ${p.environments?.join(', ')}, not ${environment}`
        : `role ${p.role} may not approve; an approver for ${environment} must`,
      'forbidden',
    );
  const current = await approvalOf(db, digest, environment);
  const actor = actorOf(p);
  if (decision === 'revoke' && current?.state !== 'approved')
    throw new GateError(`${digest} is not approved for ${environment}`, 'conflict');
  if (decision === 'approve' && gate.fourEyes) {
    if (current?.state !== 'requested' || !current.requestedBy)
      throw new GateError(
        `${environment} needs four eyes: someone requests the approval first, someone else approves`,
        'forbidden',
      );
    if (current.requestedBy === actor)
      throw new GateError(
        `${environment} needs four eyes: the requester may not approve their own request`,
        'forbidden',
      );
  }
  const policy = await policyState(db, digest, environment, o);
  if (decision === 'approve' && !policy.scan)
    throw new GateError(`${digest} has not been scanned: nothing to approve yet`, 'conflict');
  if (decision === 'approve' && policy.provenance?.kind !== 'server-scan' && !gate.acceptReported)
    throw new GateError(`${digest} is ${notVerified(environment, policy.provenance)}`, 'conflict');
  const state = { approve: 'approved', reject: 'rejected', revoke: 'revoked' }[decision];
  return withAudit({ db, actor }, `approval.${decision}`, async (trx) => {
    const t = now();
    const values = {
      state,
      decided_by: actor,
      decision_reason: reason,
      decided_at: t,
      accepted_failures: decision === 'approve' ? JSON.stringify(policy.failures) : null,
    };
    await putApproval(trx, digest, environment, values);
    return {
      value: (await approvalOf(trx, digest, environment))!,
      subject: `${environment}/${digest}`,
      details: {
        reason,
        grade: policy.scan?.grade,
        policyFailures: policy.failures.length,
        requestedBy: current?.requestedBy ?? null,
      },
    };
  });
}

export { listApprovals } from '../store/approvals.js';
