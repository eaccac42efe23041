import { createHash } from 'node:crypto';
import { CustomsError } from '../../errors.js';
import type { RegistryClient } from '../../image/registry/client.js';
import { DSSE_MEDIA_TYPE, MAX_ENVELOPE, parseEnvelope, payloadOf, type Envelope } from './dsse.js';
import type { Statement } from './statement.js';

/**
 * Attestations beside the image, where cosign puts them: an OCI manifest under the tag
 * `sha256-<hex>.att` in the image's repository, one DSSE envelope per layer, each layer annotated
 * with its predicate type. `cosign verify-attestation`, Kyverno's `verifyImages.attestations` and
 * `customs verify --attestation` all read this tag. Re-attaching replaces the layers it supersedes
 * (same predicate type and, for verdicts, same environment) and keeps the others.
 */

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const PREDICATE_ANNOTATION = 'predicateType';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** Layers read from (and kept in) one .att manifest: a crafted tag with thousands is cut here. */
export const MAX_ATTESTATIONS = 32;

export const attestationTag = (digest: string): string => `${digest.replace(':', '-')}.att`;

interface Layer {
  mediaType?: string;
  digest?: string;
  size?: number;
  annotations?: Record<string, string>;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The envelopes under the image's .att tag (malformed layers are skipped with the reason). */
export async function fetchAttestations(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<{ envelopes: Array<{ envelope: Envelope; layer: string }>; problems: string[]; layers: Layer[] }> {
  const m = await client.tryManifest(repository, attestationTag(digest));
  if (!m) return { envelopes: [], problems: [], layers: [] };
  let parsed: { layers?: Layer[] };
  try {
    parsed = JSON.parse(m.body.toString('utf8')) as { layers?: Layer[] };
  } catch {
    throw new CustomsError(`the attestation manifest ${attestationTag(digest)} is not valid JSON`);
  }
  const layers = Array.isArray(parsed.layers) ? parsed.layers : [];
  const problems: string[] = [];
  if (layers.length > MAX_ATTESTATIONS)
    problems.push(`${layers.length} attestation layers; the first ${MAX_ATTESTATIONS} are read`);
  const envelopes: Array<{ envelope: Envelope; layer: string }> = [];
  for (const l of layers.slice(0, MAX_ATTESTATIONS)) {
    if (
      l?.mediaType !== DSSE_MEDIA_TYPE ||
      typeof l.digest !== 'string' ||
      !/^sha256:[0-9a-f]{64}$/.test(l.digest)
    )
      continue;
    if (typeof l.size === 'number' && l.size > MAX_ENVELOPE) {
      problems.push(`${l.digest}: ${l.size} bytes, over the ${MAX_ENVELOPE}-byte limit`);
      continue;
    }
    try {
      const body = await client.smallBlob(repository, l.digest, MAX_ENVELOPE);
      envelopes.push({ envelope: parseEnvelope(body), layer: l.digest });
    } catch (err) {
      problems.push(`${l.digest}: ${(err as Error).message}`);
    }
  }
  return { envelopes, problems, layers };
}

/** The statement inside an envelope, or undefined when it is not one. */
export function statementOf(e: Envelope): Statement | undefined {
  try {
    const s = JSON.parse(payloadOf(e).toString('utf8')) as Statement;
    return s && typeof s === 'object' && typeof s.predicateType === 'string' && Array.isArray(s.subject)
      ? s
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Put envelopes under the image's .att tag. `supersedes(old)` says which existing layers the new
 * ones replace (their statements are read to decide); the rest are kept, newest last.
 */
export async function attachAttestations(
  client: RegistryClient,
  repository: string,
  digest: string,
  add: Array<{ envelope: Envelope; predicateType: string }>,
  supersedes: (old: Statement | undefined, envelope: Envelope) => boolean,
): Promise<string> {
  const existing = await fetchAttestations(client, repository, digest);
  const kept: Array<{ body: Buffer; predicateType: string }> = [];
  for (const { envelope } of existing.envelopes) {
    const st = statementOf(envelope);
    if (supersedes(st, envelope)) continue;
    kept.push({ body: Buffer.from(JSON.stringify(envelope)), predicateType: st?.predicateType ?? '' });
  }
  const all = [
    ...kept,
    ...add.map((a) => ({ body: Buffer.from(JSON.stringify(a.envelope)), predicateType: a.predicateType })),
  ].slice(-MAX_ATTESTATIONS);
  const layers = [];
  for (const a of all) {
    const d = sha(a.body);
    await client.pushBlob(repository, d, a.body.length, () => a.body);
    layers.push({
      mediaType: DSSE_MEDIA_TYPE,
      size: a.body.length,
      digest: d,
      annotations: { [PREDICATE_ANNOTATION]: a.predicateType, [SIGNATURE_ANNOTATION]: '' },
    });
  }
  // cosign's config: an image config whose rootfs lists the layers (some clients check it).
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const configDigest = sha(config);
  await client.pushBlob(repository, configDigest, config.length, () => config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, size: config.length, digest: configDigest },
      layers,
    }),
  );
  return client.putManifest(repository, attestationTag(digest), manifest, OCI_MANIFEST);
}
