import { appendAudit, inTransaction } from '../gate/audit.js';
import { createToken, expiryFrom } from '../store/auth.js';
import type { Db } from '../store/db.js';

export interface SessionUser {
  id: number;
  name: string;
  role: string;
  environments: string[] | null;
}

/**
 * A user's 12-hour session token (API sign-in, dashboard cookie, single sign-on), issued with its
 * `session.start` audit entry in one transaction.
 */
export async function openSession(
  db: Db,
  u: SessionUser,
  details: Record<string, unknown>,
): Promise<{ token: string; expiresAt: string }> {
  const expiresAt = expiryFrom('12h')!;
  const { token } = await inTransaction(db, async (trx) => {
    const t = await createToken(trx, {
      name: `session:${u.name}`,
      role: u.role,
      userId: u.id,
      expiresAt,
      environments: u.environments,
    });
    await appendAudit(trx, {
      actor: `user:${u.name}`,
      action: 'session.start',
      subject: `token:${t.id}`,
      details,
    });
    return t;
  });
  return { token, expiresAt };
}
