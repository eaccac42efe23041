import type { Selectable } from 'kysely';
import type { Db } from './db.js';
import type { Tables } from './schema.js';
import { staleVerdicts } from './verdicts.js';
import type { ApprovalRecord } from '../model/approval.js';

/** Approvals per (digest, environment), and the trust checks kept per (digest, rules). */

export async function approvalOf(
  db: Db,
  digest: string,
  environment: string,
): Promise<ApprovalRecord | null> {
  const r = await db.k
    .selectFrom('approvals')
    .selectAll()
    .where('digest', '=', digest)
    .where('environment', '=', environment)
    .executeTakeFirst();
  return r ? approvalRecord(r) : null;
}

export function approvalRecord(r: Selectable<Tables['approvals']>): ApprovalRecord {
  return {
    digest: r.digest,
    environment: r.environment,
    state: r.state as ApprovalRecord['state'],
    requestedBy: r.requested_by,
    requestReason: r.request_reason,
    requestedAt: r.requested_at,
    decidedBy: r.decided_by,
    decisionReason: r.decision_reason,
    decidedAt: r.decided_at,
    acceptedFailures: r.accepted_failures ? (JSON.parse(r.accepted_failures) as string[]) : [],
  };
}

/** Write an approval's new state (a request, or a decision) over whatever it was. */
export async function putApproval(
  db: Db,
  digest: string,
  environment: string,
  values: Partial<Omit<Tables['approvals'], 'digest' | 'environment' | 'id'>> & { state: string },
): Promise<void> {
  await db.k
    .insertInto('approvals')
    .values({
      digest,
      environment,
      requested_by: null,
      request_reason: null,
      requested_at: null,
      decided_by: null,
      decision_reason: null,
      decided_at: null,
      accepted_failures: null,
      ...values,
    })
    .onConflict((oc) => oc.columns(['digest', 'environment']).doUpdateSet(values))
    .execute();
  await staleVerdicts(db, { environments: [environment], digest });
}

export async function listApprovals(
  db: Db,
  f: { environment?: string; state?: string; limit?: number } = {},
): Promise<ApprovalRecord[]> {
  let q = db.k.selectFrom('approvals').selectAll();
  if (f.environment) q = q.where('environment', '=', f.environment);
  if (f.state) q = q.where('state', '=', f.state);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(f.limit ?? 200)
    .execute();
  return rows.map(approvalRecord);
}

export async function storedTrustResult(
  db: Db,
  digest: string,
  rulesId: string,
): Promise<{ trusted: boolean; reason: string; checkedAt: string } | undefined> {
  const r = await db.k
    .selectFrom('trust_results')
    .select(['trusted', 'reason', 'checked_at'])
    .where('digest', '=', digest)
    .where('rules', '=', rulesId)
    .executeTakeFirst();
  return r ? { trusted: !!Number(r.trusted), reason: r.reason, checkedAt: r.checked_at } : undefined;
}

export async function putTrustResult(
  db: Db,
  digest: string,
  rulesId: string,
  row: { trusted: number; reason: string; details: string; checked_at: string },
): Promise<void> {
  await db.k
    .insertInto('trust_results')
    .values({ digest, rules: rulesId, ...row })
    .onConflict((oc) => oc.columns(['digest', 'rules']).doUpdateSet(row))
    .execute();
  await staleVerdicts(db, { digest });
}
