import { createHash } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Tables } from '../store/schema.js';
import { now, type Db } from '../store/db.js';

/**
 * The audit log: append-only and hash-chained. Every entry's hash covers its sequence number,
 * time, actor, action, subject, details and the previous entry's hash, so editing, deleting or
 * inserting a row breaks the chain at that row. (Cutting the newest rows off is only visible
 * against a head hash kept elsewhere: `GET /api/v1/audit/verify` returns it for that purpose.)
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

const GENESIS = '0'.repeat(64);

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
    })
    .execute();
  return { ...e, hash };
}

/** Run `fn` and its audit entries in one transaction. */
export async function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.k.transaction().execute((k) => fn({ ...db, k }));
}

type Row = Selectable<Tables['audit_log']>;

const entryOf = (r: Row): AuditEntry => ({
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
  return rows.map((r) => entryOf(r as Row));
}

export interface AuditVerdict {
  ok: boolean;
  entries: number;
  head: string;
  /** The first entry that does not verify, and why. */
  broken?: { seq: number; reason: string };
}

/** Walk the whole chain in order, a page at a time. */
export async function verifyAudit(db: Db): Promise<AuditVerdict> {
  let prev = GENESIS;
  let expected = 1;
  let count = 0;
  for (;;) {
    const rows = (await db.k
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expected)
      .orderBy('seq')
      .limit(2000)
      .execute()) as Row[];
    if (!rows.length) break;
    for (const r of rows) {
      const e = entryOf(r);
      const fail = (reason: string): AuditVerdict => ({
        ok: false,
        entries: count,
        head: prev,
        broken: { seq: e.seq, reason },
      });
      if (e.seq !== expected) return fail(`entry ${expected} is missing`);
      if (e.prevHash !== prev) return fail('its previous-hash does not match the entry before it');
      // The stored details text is what was hashed: re-serialising could hide an edit of spacing.
      const want = createHash('sha256')
        .update(JSON.stringify([e.seq, e.at, e.actor, e.action, e.subject, r.details, e.prevHash]))
        .digest('hex');
      if (want !== e.hash) return fail('its content does not match its hash (edited)');
      prev = e.hash;
      expected++;
      count++;
    }
  }
  return { ok: true, entries: count, head: prev };
}
