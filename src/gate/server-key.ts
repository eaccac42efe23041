import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CustomsError } from '../errors.js';
import { now, type Db, type Signer } from '../store/db.js';
import type { SecretBox } from '../store/secret-box.js';
import {
  activeKeyRow,
  deleteKeyRow,
  insertKeyRow,
  keyRows,
  retireKeyRow,
  sealedKeyRows,
} from '../store/server-keys.js';

/**
 * The server's signing key: ECDSA P-256, made on first start (or by `customs server key create`),
 * its private half sealed with the secret key as registry credentials are, so a copy of the
 * database alone cannot sign. It signs the audit log; its public half is served at
 * `GET /api/v1/signing-key` so anyone can check what the server signed.
 */

export const KEY_ALGORITHM = 'ECDSA-P256-SHA256';
const PURPOSE = 'signing';
/**
 * Attestations (verdicts and scans pushed beside images, signed VEX) have a key of their own: its
 * public half is handed to every cluster's policy engine, and rotating it (or a leak of what it
 * signs) must not touch the audit log's chain of signatures.
 */
const ATTESTATION = 'attestation';

export interface PublicKeyInfo {
  id: string;
  algorithm: string;
  publicKey: string;
  createdAt: string;
  retiredAt: string | null;
}

export const keyIdOf = (pub: KeyObject): string =>
  createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');

/** Every signing key the store knows, newest first (retired ones still verify old signatures). */
export async function signingKeys(db: Db, purpose = PURPOSE): Promise<PublicKeyInfo[]> {
  const rows = await keyRows(db, purpose);
  return rows.map((r) => ({
    id: r.id,
    algorithm: r.algorithm,
    publicKey: r.public_pem,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
  }));
}

const activeRow = (db: Db, purpose = PURPOSE) => activeKeyRow(db, purpose);

async function insertKey(db: Db, box: SecretBox, purpose = PURPOSE): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const at = now();
  const id = keyIdOf(publicKey);
  await insertKeyRow(db, {
    id,
    purpose,
    algorithm: KEY_ALGORITHM,
    public_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    // The creation time is sealed with the private half: the column alone could be moved.
    sealed_private: box.seal({
      pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      createdAt: at,
    }),
    created_at: at,
    retired_at: null,
  });
  return id;
}

/** The active key, made when there is none; or a clear error when this secret key cannot open it. */
export async function loadSigner(db: Db, box: SecretBox): Promise<Signer> {
  let row = await activeRow(db);
  if (!row) {
    const mine = await insertKey(db, box);
    row = (await activeRow(db))!;
    if (row.id !== mine) await deleteKeyRow(db, mine);
  }
  let key: KeyObject;
  try {
    key = openSealed(box, row.sealed_private).key;
  } catch {
    throw new CustomsError(
      `the server signing key ${row.id.slice(0, 16)}… cannot be opened with this secret key: give the server's CUSTOMS_SECRET_KEY (or its data folder's secret.key)`,
    );
  }
  const { trusted, signingSince } = await trustedKeys(db, box);
  return {
    keyId: row.id,
    sign: (message) => sign('sha256', Buffer.from(message), key).toString('base64'),
    trusted,
    signingSince,
  };
}

/** The attestation key's public half (PEM), and retired ones. */
export const attestationKeys = (db: Db): Promise<PublicKeyInfo[]> => signingKeys(db, ATTESTATION);

/**
 * The attestation key (ECDSA P-256, what cosign and Kyverno verify), made when there is none.
 * Only a key sealed with this secret key and matching its public half is used.
 */
export async function loadAttestationKey(
  db: Db,
  box: SecretBox,
): Promise<{ keyId: string; key: KeyObject; publicPem: string }> {
  let row = await activeRow(db, ATTESTATION);
  if (!row) {
    const mine = await insertKey(db, box, ATTESTATION);
    row = (await activeRow(db, ATTESTATION))!;
    if (row.id !== mine) await deleteKeyRow(db, mine);
  }
  let key: KeyObject;
  try {
    key = openSealed(box, row.sealed_private).key;
  } catch {
    throw new CustomsError(
      `the server attestation key ${row.id.slice(0, 16)}… cannot be opened with this secret key: give the server's CUSTOMS_SECRET_KEY (or its data folder's secret.key)`,
    );
  }
  // A row whose public half is not the sealed key's (planted in the table) never signs.
  if (keyIdOf(createPublicKey(key)) !== row.id)
    throw new CustomsError(
      `the stored attestation key ${row.id.slice(0, 16)}… does not match its sealed half`,
    );
  return { keyId: row.id, key, publicPem: row.public_pem };
}

/**
 * The ids of every attestation key this server made, active and retired: what they signed is the
 * server's own to replace (a verdict of a key since rotated must not outlive a rejection beside the
 * new key's). Only rows that open with this secret key and match their public half count (a row
 * planted in the table cannot make the server replace another signer's attestations).
 */
export async function ownAttestationKeyIds(db: Db, box: SecretBox): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const r of await sealedKeyRows(db, ATTESTATION)) {
    try {
      if (keyIdOf(createPublicKey(openSealed(box, r.sealed_private).key)) === r.id) ids.add(r.id);
    } catch {
      /* not sealed with this secret key */
    }
  }
  return ids;
}

/**
 * `customs server key create`: a key of the purpose when there is none; with `rotate`, a new one
 * replaces it and the old one is kept, retired, so what it signed still verifies.
 */
export async function createSigningKey(
  db: Db,
  box: SecretBox,
  rotate: boolean,
  purpose: 'signing' | 'attestation' = PURPOSE,
): Promise<{ id: string; created: boolean; retired?: string }> {
  const current = await activeRow(db, purpose);
  if (current && !rotate) return { id: current.id, created: false };
  // A rotation needs the secret key that sealed the current one: another installation's secret
  // key must not retire a key it cannot open (and leave its servers unable to sign).
  if (current) {
    try {
      openSealed(box, current.sealed_private);
    } catch {
      throw new CustomsError(
        `the current ${purpose === ATTESTATION ? 'attestation' : 'signing'} key ${current.id.slice(0, 16)}… cannot be opened with this secret key: rotate it with the server's CUSTOMS_SECRET_KEY`,
      );
    }
  }
  const id = await insertKey(db, box, purpose);
  if (current) await retireKeyRow(db, current.id, now());
  return { id, created: true, retired: current?.id };
}

/** Check a signature made by `sign` with the public key of `keyId`. */
export function verifySignature(
  keys: Map<string, KeyObject>,
  keyId: string,
  message: string,
  signature: string,
): 'valid' | 'invalid' | 'unknown-key' {
  const k = keys.get(keyId);
  if (!k) return 'unknown-key';
  try {
    return verify('sha256', Buffer.from(message), k, Buffer.from(signature, 'base64')) ? 'valid' : 'invalid';
  } catch {
    return 'invalid';
  }
}

/** A sealed private key: PEM (keys made before the creation time was sealed) or {pem, createdAt}. */
function openSealed(box: SecretBox, sealed: string): { key: KeyObject; createdAt?: string } {
  const v = box.open<string | { pem: string; createdAt: string }>(sealed);
  return typeof v === 'string'
    ? { key: createPrivateKey(v) }
    : { key: createPrivateKey(v.pem), createdAt: v.createdAt };
}

/** The stored keys this secret key vouches for (see Signer.trusted), and since when. */
export async function trustedKeys(
  db: Db,
  box: SecretBox,
): Promise<{ trusted: Map<string, KeyObject>; signingSince?: string }> {
  const rows = await sealedKeyRows(db, PURPOSE);
  const trusted = new Map<string, KeyObject>();
  let signingSince: string | undefined;
  for (const r of rows) {
    let opened: { key: KeyObject; createdAt?: string };
    try {
      opened = openSealed(box, r.sealed_private);
    } catch {
      continue; // not sealed with this secret key: planted, or another installation's
    }
    const pub = createPublicKey(opened.key);
    const der = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (!der(pub).equals(der(createPublicKey(r.public_pem))) || keyIdOf(pub) !== r.id) continue;
    trusted.set(r.id, pub);
    const since = opened.createdAt ?? r.created_at;
    if (!signingSince || since < signingSince) signingSince = since;
  }
  return { trusted, signingSince };
}
