import { createHash, type KeyObject } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Tables } from '../store/schema.js';
import { now, type Db } from '../store/db.js';
import { verifySignature } from './server-key.js';

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

const GENESIS = '0'.repeat(64);

/** What is signed: the domain keeps an entry's signature from passing as the head's. */
const entryMessage = (seq: number, hash: string) => `customs-audit-entry-v1\n${seq}\n${hash}`;
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
  signatures: {
    /** valid: every entry since signing began and the head verify; unsigned: no key signed any. */
    status: 'valid' | 'unsigned' | 'invalid';
    signed: number;
    /** Entries from before the log was signed (only ever a prefix, older than every key). */
    unsigned: number;
    /** The signed head: the newest entry as the server last signed it. */
    head: { seq: number; hash: string; keyId: string } | null;
    keys: string[];
  };
}

/** Walk the whole chain in order, a page at a time, checking hashes, signatures and the signed head. */
export async function verifyAudit(db: Db): Promise<AuditVerdict> {
  // Only keys this server's secret key vouches for count (see Signer.trusted); without the secret
  // key no signature can be trusted, so every signed entry reads as signed by an unknown key.
  const keys = db.signer?.trusted ?? new Map<string, KeyObject>();
  const oldestKey = db.signer?.signingSince;
  const headRow = await db.k.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
  let prev = GENESIS;
  let expected = 1;
  let count = 0;
  let signed = 0;
  let unsigned = 0;
  const verdict = (ok: boolean, broken?: AuditVerdict['broken'], bad = false): AuditVerdict => ({
    ok,
    entries: count,
    head: prev,
    ...(broken ? { broken } : {}),
    signatures: {
      status: bad ? 'invalid' : signed || headRow ? 'valid' : 'unsigned',
      signed,
      unsigned,
      head: headRow ? { seq: Number(headRow.seq), hash: headRow.hash, keyId: headRow.key_id } : null,
      keys: [...keys.keys()],
    },
  });
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
      const fail = (reason: string, sig = false) => verdict(false, { seq: e.seq, reason }, sig);
      if (e.seq !== expected) return fail(`entry ${expected} is missing`);
      if (e.prevHash !== prev) return fail('its previous-hash does not match the entry before it');
      // The stored details text is what was hashed: re-serialising could hide an edit of spacing.
      const want = createHash('sha256')
        .update(JSON.stringify([e.seq, e.at, e.actor, e.action, e.subject, r.details, e.prevHash]))
        .digest('hex');
      if (want !== e.hash) return fail('its content does not match its hash (edited)');
      if (r.sig && r.key_id) {
        const v = verifySignature(keys, r.key_id, entryMessage(e.seq, e.hash), r.sig);
        if (v === 'unknown-key')
          return fail(`it is signed by a key this server does not know (${r.key_id})`, true);
        if (v === 'invalid')
          return fail('its signature does not match its hash (re-chained or forged)', true);
        signed++;
      } else if (signed || (oldestKey && e.at >= oldestKey))
        // Unsigned entries are only the ones written before the log was signed at all.
        return fail('it is not signed, though the log was signed when it was written (inserted?)', true);
      else unsigned++;
      prev = e.hash;
      expected++;
      count++;
    }
  }
  if (headRow) {
    const v = verifySignature(
      keys,
      headRow.key_id,
      headMessage(Number(headRow.seq), headRow.hash),
      headRow.sig,
    );
    const seq = Number(headRow.seq);
    if (v !== 'valid') return verdict(false, { seq, reason: `the signed head's signature is ${v}` }, true);
    if (count < seq)
      return verdict(
        false,
        {
          seq: count + 1,
          reason: `the log ends at entry ${count}, but its signed head is entry ${seq} (cut off)`,
        },
        true,
      );
    if (count > seq)
      return verdict(
        false,
        { seq: seq + 1, reason: `the signed head names entry ${seq}, an older one (the head was replaced)` },
        true,
      );
    if (headRow.hash !== prev)
      return verdict(
        false,
        { seq, reason: 'the newest entry is not the one the head signed (replaced)' },
        true,
      );
  } else if (signed || keys.size)
    // A server with a key signs a head when the key is made (ensureSignedHead): no head means the
    // log was emptied or stripped of its signatures.
    return verdict(false, { seq: count, reason: 'the signed head is missing (removed)' }, true);
  return verdict(true);
}

/**
 * When the server's key is made (or a store signed nothing yet), sign the head as the log stands:
 * from then on an emptied or stripped log has no valid head to show.
 */
export async function ensureSignedHead(db: Db): Promise<void> {
  const signer = db.signer;
  if (!signer) return;
  if (await db.k.selectFrom('audit_head').select('id').where('id', '=', 1).executeTakeFirst()) return;
  const last = await db.k
    .selectFrom('audit_log')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const seq = last ? Number(last.seq) : 0;
  const hash = last?.hash ?? GENESIS;
  const head = {
    seq,
    hash,
    sig: signer.sign(headMessage(seq, hash)),
    key_id: signer.keyId,
    at: new Date().toISOString(),
  };
  await db.k
    .insertInto('audit_head')
    .values({ id: 1, ...head })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}
