import { createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { CustomsError } from '../../errors.js';
import { supportedKey, type TrustedKey } from '../cosign.js';

/**
 * DSSE envelopes (secure-systems-lab/dsse v1): the signature covers the pre-authentication
 * encoding of the payload type and bytes, never the JSON around them, so re-serialising the
 * envelope cannot change what was signed. cosign, Kyverno and in-toto verifiers read this form.
 * Written here because the sigstore libraries verify bundles with certificates or transparency-log
 * entries, not a bare envelope against a PEM key; the format itself is 20 lines.
 */

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** An envelope larger than this is refused before parsing (a scan result is far smaller). */
export const MAX_ENVELOPE = 4 * 1024 * 1024;
const MAX_SIGNATURES = 16;

export interface Envelope {
  payloadType: string;
  /** base64 of the payload bytes */
  payload: string;
  signatures: Array<{ keyid?: string; sig: string }>;
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${body.length} `, 'utf8'),
    body,
  ]);
}

/** A private key for signing: PEM (PKCS#8 or SEC1), ECDSA P-256 or Ed25519. */
export function signingKey(pem: string, from = 'key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new CustomsError(
      `not a PEM private key (an encrypted cosign key must be exported first: cosign import/export or openssl): ${(err as Error).message}`,
      from,
    );
  }
  supportedKey(key, from);
  return key;
}

/** ECDSA signs the SHA-256 of PAE (DER signature, as cosign); Ed25519 signs PAE itself. */
function algorithmOf(key: KeyObject): string | null {
  return key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
}

export function signEnvelope(
  payload: Buffer,
  key: KeyObject,
  keyid = '',
  payloadType = INTOTO_PAYLOAD_TYPE,
): Envelope {
  const sig = sign(algorithmOf(key), pae(payloadType, payload), key);
  return {
    payloadType,
    payload: payload.toString('base64'),
    signatures: [{ keyid, sig: sig.toString('base64') }],
  };
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Parse an envelope strictly: the shape, base64 fields and bounds; anything else is refused. */
export function parseEnvelope(bytes: Buffer): Envelope {
  if (bytes.length > MAX_ENVELOPE)
    throw new CustomsError(`a DSSE envelope of ${bytes.length} bytes is over the ${MAX_ENVELOPE}-byte limit`);
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new CustomsError('the DSSE envelope is not valid JSON');
  }
  const e = v as Partial<Envelope>;
  if (!e || typeof e !== 'object' || typeof e.payloadType !== 'string' || typeof e.payload !== 'string')
    throw new CustomsError('not a DSSE envelope (payloadType and payload are required)');
  if (!BASE64.test(e.payload)) throw new CustomsError('the DSSE payload is not base64');
  if (!Array.isArray(e.signatures) || e.signatures.length === 0)
    throw new CustomsError('the DSSE envelope carries no signature');
  if (e.signatures.length > MAX_SIGNATURES)
    throw new CustomsError(
      `the DSSE envelope carries ${e.signatures.length} signatures; at most ${MAX_SIGNATURES} are read`,
    );
  for (const s of e.signatures)
    if (
      !s ||
      typeof s.sig !== 'string' ||
      !BASE64.test(s.sig) ||
      (s.keyid !== undefined && typeof s.keyid !== 'string')
    )
      throw new CustomsError('a DSSE signature is malformed');
  return { payloadType: e.payloadType, payload: e.payload, signatures: e.signatures };
}

export function payloadOf(e: Envelope): Buffer {
  return Buffer.from(e.payload, 'base64');
}

/** Which trusted key signed the envelope, or why none did. */
export function verifyEnvelope(e: Envelope, keys: TrustedKey[]): { keyId?: string; problem?: string } {
  const message = pae(e.payloadType, payloadOf(e));
  for (const s of e.signatures) {
    const sig = Buffer.from(s.sig, 'base64');
    for (const k of keys) {
      let ok = false;
      try {
        ok = verify(algorithmOf(k.key), message, k.key, sig);
      } catch {
        ok = false;
      }
      if (ok) return { keyId: k.id };
    }
  }
  return { problem: 'no signature verifies with the trusted key(s)' };
}
