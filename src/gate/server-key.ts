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
import { activeKeyRow, deleteKeyRow, insertKeyRow, keyRows, retireKeyRow } from '../store/server-keys.js';

/**
 * The server's signing key: ECDSA P-256, made on first start (or by `customs server key create`),
 * its private half sealed with the secret key as registry credentials are, so a copy of the
 * database alone cannot sign. It signs the audit log; its public half is served at
 * `GET /api/v1/signing-key` so anyone can check what the server signed.
 */

export const KEY_ALGORITHM = 'ECDSA-P256-SHA256';
const PURPOSE = 'signing';

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
export async function signingKeys(db: Db): Promise<PublicKeyInfo[]> {
  const rows = await keyRows(db, PURPOSE);
  return rows.map((r) => ({
    id: r.id,
    algorithm: r.algorithm,
    publicKey: r.public_pem,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
  }));
}

const activeRow = (db: Db) => activeKeyRow(db, PURPOSE);

async function insertKey(db: Db, box: SecretBox): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const id = keyIdOf(publicKey);
  await insertKeyRow(db, {
    id,
    purpose: PURPOSE,
    algorithm: KEY_ALGORITHM,
    public_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sealed_private: box.seal(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    created_at: now(),
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
    key = createPrivateKey(box.open<string>(row.sealed_private));
  } catch {
    throw new CustomsError(
      `the server signing key ${row.id.slice(0, 16)}… cannot be opened with this secret key: give the server's CUSTOMS_SECRET_KEY (or its data folder's secret.key)`,
    );
  }
  return { keyId: row.id, sign: (message) => sign('sha256', Buffer.from(message), key).toString('base64') };
}

/** `customs server key create`: a key when there is none; with `rotate`, a new one replaces it. */
export async function createSigningKey(
  db: Db,
  box: SecretBox,
  rotate: boolean,
): Promise<{ id: string; created: boolean; retired?: string }> {
  const current = await activeRow(db);
  if (current && !rotate) return { id: current.id, created: false };
  const id = await insertKey(db, box);
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

export async function publicKeyObjects(db: Db): Promise<Map<string, KeyObject>> {
  return new Map((await signingKeys(db)).map((k) => [k.id, createPublicKey(k.publicKey)]));
}
