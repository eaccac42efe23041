import { appendAudit, type AuditInput } from '../store/audit.js';
import { inTransaction, type Db } from '../store/db.js';

/** Who is writing: the store, and the actor the audit entry names (`token:ci#3`, `user:al`, `system`). */
export interface AuditContext {
  db: Db;
  actor: string;
}

/**
 * What an audited change hands back: its value, and the entry's subject and details (known only
 * once the change is made: a new token's id, a registry's state before and after). `audit: false`
 * when nothing changed (a revoke of a token that is not live): then no entry is written. `also`:
 * further entries of the same change, each with its own actor (a failed sign-in that also locks the
 * name: `session.failed` by anonymous, then `session.locked` by the system).
 */
export type Audited<T> =
  | { value: T; subject: string; details?: Record<string, unknown>; also?: AuditInput[] }
  | { value: T; audit: false };

/**
 * Every audited write goes through here: the change and its entry in one transaction, so they land
 * together or not at all (and the chain never records a change that rolled back).
 */
export async function withAudit<T>(
  ctx: AuditContext,
  action: string,
  change: (trx: Db) => Promise<Audited<T>>,
): Promise<T> {
  return inTransaction(ctx.db, async (trx) => {
    const r = await change(trx);
    if ('audit' in r) return r.value;
    await appendAudit(trx, { actor: ctx.actor, action, subject: r.subject, details: r.details });
    for (const e of r.also ?? []) await appendAudit(trx, e);
    return r.value;
  });
}

/** An entry that records an event, not a change of state (a refused sign-in, a database update run). */
export async function audit(
  ctx: AuditContext,
  action: string,
  subject: string,
  details?: Record<string, unknown>,
): Promise<void> {
  await withAudit(ctx, action, async () => ({ value: undefined, subject, details }));
}
