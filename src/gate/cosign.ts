import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CustomsError } from '../errors.js';
import type { RegistryClient } from '../image/registry/client.js';
import { BUNDLE_ARTIFACT_TYPES, verifyBundle, type KeylessVerifier } from './sigstore.js';

/**
 * cosign-compatible key-based signatures. cosign stores a signature as an OCI manifest whose layers
 * are "simple signing" payloads (JSON naming the signed manifest digest), each carrying the
 * base64 signature of the payload's bytes in the annotation `dev.cosignproject.cosign/signature`.
 * It is found under the tag `sha256-<hex>.sig` in the image's repository, or (cosign 2 with OCI
 * 1.1) as a referrer whose artifactType is cosign's signature type. Verification is
 * ECDSA-P256/SHA-256 (cosign's default keys) or Ed25519 over the payload bytes, and the payload
 * must name the very digest asked about: a signature copied from another image does not count.
 * Written here because the sigstore libraries verify bundles, not this registry layout; bundles
 * found among the referrers are handed to them (sigstore.ts).
 */

export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const MAX_PAYLOAD = 256 * 1024;
const MAX_SIGNATURES = 32;
const MAX_BUNDLE = 1024 * 1024;

export interface TrustedKey {
  id: string;
  key: KeyObject;
}

/** The key types cosign makes and Customs signs with: ECDSA P-256 and Ed25519 (public or private). */
export function supportedKey(key: KeyObject, from: string): void {
  const t = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (!(t === 'ed25519' || (t === 'ec' && curve === 'prime256v1')))
    throw new CustomsError(
      `unsupported key type ${t}${curve ? ` (${curve})` : ''}: use ECDSA P-256 or Ed25519`,
      from,
    );
}

/** A PEM public key (ECDSA P-256 or Ed25519), named by the first 16 hex of its SPKI's sha256. */
export function trustedKey(pem: string, from = 'key'): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new CustomsError(`not a PEM public key: ${(err as Error).message}`, from);
  }
  supportedKey(key, from);
  const spki = key.export({ type: 'spki', format: 'der' });
  return { id: createHash('sha256').update(spki).digest('hex').slice(0, 16), key };
}

export interface SignatureFinding {
  /** Where it was found: the .sig tag or a referrer's digest. */
  source: string;
  /** The key that verified it, when one did. */
  keyId?: string;
  verified: boolean;
  /** Why it did not verify. */
  problem?: string;
  /** The repository the payload names (docker-reference). */
  reference?: string;
  /** A keyless signer: certificate identity (issuer). */
  identity?: string;
}

export interface SignatureCheck {
  trusted: boolean;
  /** One line: who signed it, or why it is not trusted. */
  reason: string;
  signatures: SignatureFinding[];
}

interface Manifest {
  layers?: Array<{
    mediaType?: string;
    digest?: string;
    size?: number;
    annotations?: Record<string, string>;
  }>;
  manifests?: Array<{ digest?: string; artifactType?: string; mediaType?: string }>;
  artifactType?: string;
}

function json<T>(b: Buffer, what: string): T {
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch {
    throw new CustomsError(`${what} is not valid JSON`);
  }
}

/** Check one payload and its signature against the keys. */
export function checkPayload(
  payload: Buffer,
  signatureB64: string | undefined,
  digest: string,
  keys: TrustedKey[],
): Omit<SignatureFinding, 'source'> {
  if (!signatureB64) return { verified: false, problem: 'the layer carries no signature annotation' };
  const sig = Buffer.from(signatureB64, 'base64');
  const key = keys.find((k) => {
    try {
      const alg = k.key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
      return verify(alg, payload, k.key, sig);
    } catch {
      return false;
    }
  });
  let doc: {
    critical?: {
      identity?: { 'docker-reference'?: string };
      image?: { 'docker-manifest-digest'?: string };
      type?: string;
    };
  };
  try {
    doc = JSON.parse(payload.toString('utf8')) as typeof doc;
  } catch {
    return { verified: false, problem: 'the payload is not JSON' };
  }
  const reference = doc.critical?.identity?.['docker-reference'];
  if (!key)
    return {
      verified: false,
      reference,
      problem: keys.length
        ? 'signed by no trusted key, or the payload was altered'
        : 'no trusted key was given',
    };
  if (doc.critical?.type !== 'cosign container image signature')
    return {
      verified: false,
      keyId: undefined,
      reference,
      problem: 'the payload is not a cosign image signature',
    };
  const named = doc.critical?.image?.['docker-manifest-digest'];
  if (named !== digest)
    return {
      verified: false,
      reference,
      problem: `the payload signs ${named ?? 'no digest'}, not this image`,
    };
  return { verified: true, keyId: key.id, reference };
}

async function fromManifest(
  client: RegistryClient,
  repository: string,
  digest: string,
  body: Buffer,
  source: string,
  keys: TrustedKey[],
): Promise<SignatureFinding[]> {
  const m = json<Manifest>(body, `signature manifest ${source}`);
  const out: SignatureFinding[] = [];
  for (const l of (m.layers ?? []).slice(0, MAX_SIGNATURES)) {
    if (l.mediaType !== SIMPLE_SIGNING || !l.digest) continue;
    if ((l.size ?? 0) > MAX_PAYLOAD) {
      out.push({ source, verified: false, problem: `payload of ${l.size} bytes is too large` });
      continue;
    }
    const payload = await client.smallBlob(repository, l.digest, MAX_PAYLOAD);
    out.push({ source, ...checkPayload(payload, l.annotations?.[SIGNATURE_ANNOTATION], digest, keys) });
  }
  return out;
}

export interface ImageTrust {
  keys: TrustedKey[];
  /** Keyless: a trusted root and the identities allowed to sign. */
  keyless?: KeylessVerifier;
}

/**
 * Every signature of `digest` in `repository` — cosign's tag scheme, cosign referrers, Sigstore
 * bundles among the referrers — checked against the trusted keys and identities.
 */
export async function verifyImageSignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
  trust: ImageTrust | TrustedKey[],
): Promise<SignatureCheck> {
  const { keys, keyless } = Array.isArray(trust) ? { keys: trust, keyless: undefined } : trust;
  const found: SignatureFinding[] = [];
  const tag = `${digest.replace(':', '-')}.sig`;
  const sigManifest = await client.tryManifest(repository, tag);
  if (sigManifest)
    found.push(...(await fromManifest(client, repository, digest, sigManifest.body, tag, keys)));
  const refs = await client.referrers(repository, digest).catch(() => undefined);
  if (refs) {
    const index = json<Manifest>(refs, 'referrers index');
    const listed = (index.manifests ?? []).slice(0, 4 * MAX_SIGNATURES);
    for (const r of listed.filter((x) => x.artifactType === COSIGN_ARTIFACT).slice(0, MAX_SIGNATURES)) {
      if (!r.digest) continue;
      const m = await client.manifest(repository, r.digest);
      found.push(...(await fromManifest(client, repository, digest, m.body, r.digest, keys)));
    }
    const bundles = listed
      .filter((x) => BUNDLE_ARTIFACT_TYPES.includes(x.artifactType ?? ''))
      .slice(0, MAX_SIGNATURES);
    for (const r of bundles) {
      if (!r.digest) continue;
      if (!keyless) {
        found.push({
          source: r.digest,
          verified: false,
          problem: 'a Sigstore bundle, but no trusted root and identity were given',
        });
        continue;
      }
      const m = json<Manifest>(
        (await client.manifest(repository, r.digest)).body,
        `bundle manifest ${r.digest}`,
      );
      const layer = m.layers?.[0];
      if (!layer?.digest || (layer.size ?? 0) > MAX_BUNDLE) {
        found.push({
          source: r.digest,
          verified: false,
          problem: 'the bundle manifest holds no bundle of a sane size',
        });
        continue;
      }
      const bundle = json<unknown>(
        await client.smallBlob(repository, layer.digest, MAX_BUNDLE),
        `bundle ${layer.digest}`,
      );
      const v = verifyBundle(bundle, digest, keyless);
      found.push({
        source: r.digest,
        verified: v.verified,
        problem: v.problem,
        identity: v.subject ? `${v.subject} (${v.issuer})` : undefined,
      });
    }
  }
  const ok = found.filter((f) => f.verified);
  if (ok.length) {
    const by = [...new Set(ok.map((f) => (f.keyId ? `trusted key ${f.keyId}` : `identity ${f.identity}`)))];
    return { trusted: true, reason: `signed by ${by.join(', ')}`, signatures: found };
  }
  if (!found.length)
    return {
      trusted: false,
      reason: `unsigned: no cosign signature at ${tag} or among its referrers`,
      signatures: found,
    };
  const problems = [...new Set(found.map((f) => f.problem))].join('; ');
  return {
    trusted: false,
    reason: `${found.length} signature(s), none trusted: ${problems}`,
    signatures: found,
  };
}

/** Build a cosign simple-signing payload (tests and `customs sign`-style tooling use it). */
export function simpleSigningPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}
