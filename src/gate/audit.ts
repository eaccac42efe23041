import { createHash, type KeyObject } from 'node:crypto';
import type { Db } from '../store/db.js';
import {
  auditHeadRow,
  auditPage,
  entryMessage,
  entryOf,
  GENESIS,
  headMessage,
  lastAuditEntry,
  putAuditHeadIfAbsent,
} from '../store/audit.js';
import { verifySignature } from './server-key.js';

// Writing and listing the chain is store work (store/audit.ts); what stays here is checking it.
export {
  appendAudit,
  headMessage,
  inTransaction,
  listAudit,
  type AuditEntry,
  type AuditFilter,
  type AuditInput,
} from '../store/audit.js';

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
  const headRow = await auditHeadRow(db);
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
    const rows = await auditPage(db, expected, 2000);
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
  if (!signer || (await auditHeadRow(db))) return;
  const last = await lastAuditEntry(db);
  const seq = last ? Number(last.seq) : 0;
  const hash = last?.hash ?? GENESIS;
  await putAuditHeadIfAbsent(db, {
    seq,
    hash,
    sig: signer.sign(headMessage(seq, hash)),
    key_id: signer.keyId,
    at: new Date().toISOString(),
  });
}
