import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { delimiter } from 'node:path';
import { userConfig } from '../config.js';
import { CustomsError } from '../errors.js';
import { readUserFile } from '../user-file.js';

/**
 * Ed25519 signatures over a database artifact's manifest (the manifest names the payload's
 * sha256, so one signature covers everything). Keys are PEM, as `openssl genpkey -algorithm
 * ed25519` writes them; a key is named by the sha256 of its public half, so a signature says which
 * key made it and a client can trust several keys at once while they rotate.
 */

export interface Signature {
  keyId: string;
  algorithm: 'ed25519';
  /** base64 */
  signature: string;
}

/**
 * The public keys the default repository signs with. Rotation adds the new key here one release
 * before the publisher switches to it, and drops the old one a release later.
 */
export const BUILT_IN_KEYS: readonly string[] = [
  `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAabESfFS8o8bTMwTmKaMWJ1qWs/x5Dv40opyTtHfJbPg=
-----END PUBLIC KEY-----`,
];

export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function ed25519(key: KeyObject, file: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new CustomsError(
      `${file}: a ${key.asymmetricKeyType ?? 'symmetric'} key; database signing uses ed25519 (openssl genpkey -algorithm ed25519)`,
    );
  return key;
}

export function loadPrivateKey(file: string): KeyObject {
  const pem = readUserFile(file, 64 * 1024);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new CustomsError(`${file}: not a PEM private key`);
  }
  return ed25519(key, file);
}

export function loadPublicKey(pem: string | Buffer, file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new CustomsError(`${file}: not a PEM public key`);
  }
  return ed25519(key, file);
}

/**
 * The keys a client trusts: the built-in ones, the files given with --trust-key, those listed in
 * CUSTOMS_DB_TRUST_KEYS (paths separated as in PATH) and the config file's db.trustKeys.
 */
export function trustedKeys(files: string[] = []): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  const add = (k: KeyObject) => out.set(keyId(k), k);
  for (const pem of BUILT_IN_KEYS) add(loadPublicKey(pem, 'built-in key'));
  const env = (process.env.CUSTOMS_DB_TRUST_KEYS ?? '').split(delimiter).filter(Boolean);
  for (const f of [...files, ...env, ...(userConfig().db?.trustKeys ?? [])])
    add(loadPublicKey(readUserFile(f, 64 * 1024), f));
  return out;
}

export function signBytes(data: Buffer, key: KeyObject): Signature {
  return { keyId: keyId(key), algorithm: 'ed25519', signature: sign(null, data, key).toString('base64') };
}

/**
 * Check that at least one signature is by a trusted key and verifies; returns that key's id.
 * `what` names the artifact in the error.
 */
export function verifySignatures(
  data: Buffer,
  signatures: unknown,
  keys: Map<string, KeyObject>,
  what: string,
) {
  const list = Array.isArray(signatures) ? (signatures as Partial<Signature>[]) : [];
  if (list.length === 0) throw new CustomsError(`${what} is not signed; refused`);
  let untrusted: string | undefined;
  for (const s of list) {
    const key = typeof s.keyId === 'string' ? keys.get(s.keyId) : undefined;
    if (!key) {
      untrusted ??= String(s.keyId);
      continue;
    }
    let ok = false;
    try {
      ok = verify(null, data, key, Buffer.from(String(s.signature), 'base64'));
    } catch {
      ok = false;
    }
    if (ok) return s.keyId as string;
    throw new CustomsError(`${what}: its signature by key ${s.keyId} does not verify (tampered?); refused`);
  }
  throw new CustomsError(
    `${what} is signed by key ${untrusted}, which is not trusted here; refused (add its public key with --trust-key or CUSTOMS_DB_TRUST_KEYS)`,
  );
}
