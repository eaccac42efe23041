import { createHash } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Tables } from './schema.js';
import { now, type Db } from './db.js';

// Transactions are the store's; audit callers have always found them here.
export { inTransaction } from './db.js';

/**
 * The audit log: append-only, hash-chained and signed. Every entry's hash covers its sequence
 * number, time, actor, action, subject, details and the previous entry's hash, so editing,
 * deleting or inserting a row breaks the chain at that row. Anyone who can write the database can
 * recompute the hashes, though, so each entry's hash is also signed with the server key (sealed
 * with the secret key, never in the database in the clear), and so is the newest entry apart from
 * it (`audit_head`): a re-chained entry no longer matches its signature, and a cut-off tail no
 * longer reaches the signed head. What the database alone cannot show — the whole store rolled
 * back to an older copy — the head exported to an alert channel shows (audit-export.ts).
 */

export interface AuditInput {
  actor: string;
  action: string;
  subject: string;
  details?: Record<string, unknown>;
}

export interface AuditEntry extends Required<AuditInput> {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export const GENESIS = '0'.repeat(64);

/** What is signed: the domain keeps an entry's signature from passing as the head's. */
export const entryMessage = (seq: number, hash: string) => `customs-audit-entry-v1\n${seq}\n${hash}`;
export const headMessage = (seq: number, hash: string) => `customs-audit-head-v1\n${seq}\n${hash}`;

function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  // An array fixes the field order; details were serialised once and are hashed as stored.
  return createHash('sha256')
    .update(
      JSON.stringify([e.seq, e.at, e.actor, e.action, e.subject, JSON.stringify(e.details), e.prevHash]),
    )
    .digest('hex');
}

/**
 * Append an entry. Call it inside the transaction of the change it records (`inTransaction`), so
 * the change and its entry land together or not at all.
 */
export async function appendAudit(db: Db, input: AuditInput): Promise<AuditEntry> {
  // Appends take turns: on PostgreSQL a transaction-scoped advisory lock (two writers reading the
  // same head would fork the chain); SQLite runs one write transaction at a time anyway.
  if (db.engine === 'postgres') await sql`select pg_advisory_xact_lock(7302155)`.execute(db.k);
  const head = await db.k
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const details = JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>;
  const e = {
    seq: (head ? Number(head.seq) : 0) + 1,
    at: now(),
    actor: input.actor,
    action: input.action,
    subject: input.subject,
    details,
    prevHash: head?.hash ?? GENESIS,
  };
  const hash = entryHash(e);
  const signer = db.signer;
  await db.k
    .insertInto('audit_log')
    .values({
      seq: e.seq,
      at: e.at,
      actor: e.actor,
      action: e.action,
      subject: e.subject,
      details: JSON.stringify(details),
      prev_hash: e.prevHash,
      hash,
      sig: signer ? signer.sign(entryMessage(e.seq, hash)) : null,
      key_id: signer?.keyId ?? null,
    })
    .execute();
  if (signer) {
    const head = {
      seq: e.seq,
      hash,
      sig: signer.sign(headMessage(e.seq, hash)),
      key_id: signer.keyId,
      at: e.at,
    };
    await db.k
      .insertInto('audit_head')
      .values({ id: 1, ...head })
      .onConflict((oc) => oc.column('id').doUpdateSet(head))
      .execute();
  }
  return { ...e, hash };
}

export type AuditRow = Selectable<Tables['audit_log']>;

export const entryOf = (r: AuditRow): AuditEntry => ({
  seq: Number(r.seq),
  at: r.at,
  actor: r.actor,
  action: r.action,
  subject: r.subject,
  details: JSON.parse(r.details) as Record<string, unknown>,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export interface AuditFilter {
  action?: string;
  subject?: string;
  actor?: string;
  before?: number;
  limit?: number;
}

/** Newest first. */
export async function listAudit(db: Db, f: AuditFilter = {}): Promise<AuditEntry[]> {
  let q = db.k.selectFrom('audit_log').selectAll();
  if (f.action) q = q.where('action', 'like', `${f.action.replace(/[%_]/g, '')}%`);
  if (f.subject) q = q.where('subject', '=', f.subject);
  if (f.actor) q = q.where('actor', '=', f.actor);
  if (f.before) q = q.where('seq', '<', f.before);
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(f.limit ?? 100)
    .execute();
  return rows.map((r) => entryOf(r as AuditRow));
}

/** One page of the chain in order, from `fromSeq` (the verifier walks the whole log this way). */
export async function auditPage(db: Db, fromSeq: number, limit: number): Promise<AuditRow[]> {
  return (await db.k
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '>=', fromSeq)
    .orderBy('seq')
    .limit(limit)
    .execute()) as AuditRow[];
}

/** The signed head (the newest entry as the server last signed it), if any. */
export async function auditHeadRow(db: Db) {
  return db.k.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
}

/** The newest entry's sequence number and hash, if any. */
export async function lastAuditEntry(db: Db): Promise<{ seq: number; hash: string } | undefined> {
  const r = await db.k
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? { seq: Number(r.seq), hash: r.hash } : undefined;
}

/** Put the signed head unless one exists (a second replica starting at once keeps the first). */
export async function putAuditHeadIfAbsent(
  db: Db,
  head: { seq: number; hash: string; sig: string; key_id: string; at: string },
): Promise<void> {
  await db.k
    .insertInto('audit_head')
    .values({ id: 1, ...head })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}
