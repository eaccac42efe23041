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

/**
 * OCI 1.1 referrers: each attestation also as a manifest of its own whose `subject` is the image,
 * found through the registry's referrers API or, where there is none (Distribution 2.x), through
 * the fallback tag `sha256-<hex>`, an index the pusher keeps. Our earlier referrers it supersedes
 * are dropped from the index and deleted (a verifier reading referrers must not find a verdict the
 * gate has since withdrawn).
 */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const EMPTY = Buffer.from('{}');
/** Descriptor annotations: the statement's type, and the key that signed it (whose referrers we replace). */
export const REFERRER_PREDICATE = 'in-toto.io/predicate-type';
export const REFERRER_KEY = 'dev.customs.attestation.key-id';
/** Descriptors read from (and kept in) a referrers index: a crafted index with thousands is cut here. */
export const MAX_REFERRERS = 256;
/** Our superseded referrers deleted per push (each is checked first: one request each). */
const MAX_DELETES = 64;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export const referrersTag = (digest: string): string => digest.replace(':', '-');

/** A descriptor from a registry's index, or undefined when it is not a well-formed one. */
function descriptorOf(v: unknown): Descriptor | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType.length > 255) return undefined;
  if (typeof d.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(d.digest)) return undefined;
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) return undefined;
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (typeof d.artifactType === 'string' && d.artifactType.length <= 255) out.artifactType = d.artifactType;
  if (d.annotations && typeof d.annotations === 'object' && !Array.isArray(d.annotations)) {
    const a: Record<string, string> = {};
    for (const [k, val] of Object.entries(d.annotations).slice(0, 32))
      if (typeof val === 'string' && k.length <= 255 && val.length <= 4096) a[k] = val;
    out.annotations = a;
  }
  return out;
}

/** The descriptors of a referrers index (bounded: the first MAX_REFERRERS well-formed ones). */
export function referrersOf(body: Buffer | undefined): { descriptors: Descriptor[]; problems: string[] } {
  if (!body) return { descriptors: [], problems: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { descriptors: [], problems: ['the referrers index is not valid JSON'] };
  }
  const manifests = (parsed as { manifests?: unknown })?.manifests;
  if (!Array.isArray(manifests))
    return { descriptors: [], problems: ['the referrers index lists no manifests'] };
  const problems: string[] = [];
  if (manifests.length > MAX_REFERRERS)
    problems.push(`${manifests.length} referrers; the first ${MAX_REFERRERS} are read`);
  const descriptors: Descriptor[] = [];
  for (const m of manifests.slice(0, MAX_REFERRERS)) {
    const d = descriptorOf(m);
    if (d) descriptors.push(d);
  }
  return { descriptors, problems };
}

/**
 * What the manifest at `digest` is to us: gone, not ours, or one of our referrers of `subject` (with
 * the predicate type it carries). Read before deleting it.
 */
async function referrerState(
  client: RegistryClient,
  repository: string,
  digest: string,
  subject: string,
  keyIds: ReadonlySet<string>,
): Promise<{ state: 'gone' } | { state: 'other' } | { state: 'ours'; predicateType: string }> {
  const m = await client.tryManifest(repository, digest);
  if (!m) return { state: 'gone' };
  if (m.digest !== digest) return { state: 'other' };
  try {
    const o = JSON.parse(m.body.toString('utf8')) as {
      subject?: { digest?: unknown };
      artifactType?: unknown;
      annotations?: Record<string, unknown>;
    };
    const key = o.annotations?.[REFERRER_KEY];
    const type = o.annotations?.[REFERRER_PREDICATE];
    return o.subject?.digest === subject &&
      o.artifactType === DSSE_MEDIA_TYPE &&
      typeof key === 'string' &&
      keyIds.has(key)
      ? { state: 'ours', predicateType: typeof type === 'string' ? type : '' }
      : { state: 'other' };
  } catch {
    return { state: 'other' };
  }
}

/**
 * Push envelopes as referrers of `subject` (the image manifest as the registry serves it) and drop
 * our earlier ones `supersedes` names. `record` is told the new manifests' digests before they are
 * pushed (so the registry's notification of them is known for what it is). `ownKeys`: the ids of
 * every key whose referrers are ours to replace (retired ones too; `keyId`, the signer, at least).
 * `earlier`: the referrers the server remembers pushing beside `subject` (newest first): checked
 * too, as the registry may list them past what is read (a crowded or paged listing). Returns how
 * the registry lists referrers (its API, or the fallback tag this call kept), and `gone`: those of
 * ours deleted or found missing (nothing to look for any more).
 */
export async function attachReferrers(
  client: RegistryClient,
  repository: string,
  subject: { digest: string; mediaType: string; size: number },
  add: Array<{ envelope: Envelope; predicateType: string }>,
  keyId: string,
  supersedes: (predicateType: string) => boolean,
  record: (digests: string[]) => Promise<void>,
  ownKeys: ReadonlySet<string> = new Set([keyId]),
  earlier: string[] = [],
): Promise<{ mode: 'api' | 'tag'; pushed: string[]; removed: number; problems: string[]; gone: string[] }> {
  await client.pushBlob(repository, sha(EMPTY), EMPTY.length, () => EMPTY);
  const created = new Date().toISOString();
  const manifests: Array<{ body: Buffer; descriptor: Descriptor }> = [];
  for (const a of add) {
    const body = Buffer.from(JSON.stringify(a.envelope));
    const d = sha(body);
    await client.pushBlob(repository, d, body.length, () => body);
    const annotations = {
      [REFERRER_PREDICATE]: a.predicateType,
      [REFERRER_KEY]: keyId,
      'org.opencontainers.image.created': created,
    };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: DSSE_MEDIA_TYPE,
        config: { mediaType: OCI_EMPTY, size: EMPTY.length, digest: sha(EMPTY) },
        layers: [
          {
            mediaType: DSSE_MEDIA_TYPE,
            size: body.length,
            digest: d,
            annotations: { [PREDICATE_ANNOTATION]: a.predicateType },
          },
        ],
        subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
        annotations,
      }),
    );
    manifests.push({
      body: manifest,
      descriptor: {
        mediaType: OCI_MANIFEST,
        digest: sha(manifest),
        size: manifest.length,
        artifactType: DSSE_MEDIA_TYPE,
        annotations,
      },
    });
  }
  // What the registry lists now: through its API when it has one, else the fallback tag.
  const listed = await client.referrersIndex(repository, subject.digest);
  const mode = listed.api ? 'api' : 'tag';
  const { descriptors, problems } = referrersOf(listed.body);
  const fresh = new Set(manifests.map((m) => m.descriptor.digest));
  const old = descriptors.filter(
    (d) =>
      !fresh.has(d.digest) &&
      ownKeys.has(d.annotations?.[REFERRER_KEY] ?? '') &&
      supersedes(d.annotations?.[REFERRER_PREDICATE] ?? ''),
  );
  await record(manifests.map((m) => m.descriptor.digest));
  for (const m of manifests) await client.putManifest(repository, m.descriptor.digest, m.body, OCI_MANIFEST);
  if (mode === 'tag') {
    // Others' referrers stay (newest last, within the bound); ours that are superseded go.
    const gone = new Set(old.map((d) => d.digest));
    const kept = descriptors.filter((d) => !gone.has(d.digest) && !fresh.has(d.digest));
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [...kept, ...manifests.map((m) => m.descriptor)].slice(-MAX_REFERRERS),
      }),
    );
    await client.putManifest(repository, referrersTag(subject.digest), index, OCI_INDEX);
  }
  // The index (the registry's or a pusher's) only names candidates: each is read and deleted only
  // when it is our referrer of this very image, so a crafted entry cannot make us delete the image.
  // Those we remember pushing and the listing did not show are read for what they state.
  const listedDigests = new Set(descriptors.map((d) => d.digest));
  const candidates = [
    ...old.map((d) => ({ digest: d.digest, listed: true })),
    ...earlier
      .filter((d) => !fresh.has(d) && !listedDigests.has(d))
      .map((digest) => ({ digest, listed: false })),
  ];
  let removed = 0;
  const gone: string[] = [];
  for (const c of candidates.slice(0, MAX_DELETES)) {
    if (c.digest === subject.digest) continue;
    try {
      const r = await referrerState(client, repository, c.digest, subject.digest, ownKeys);
      if (r.state === 'gone') gone.push(c.digest);
      if (r.state !== 'ours' || (!c.listed && !supersedes(r.predicateType))) continue;
      if (await client.deleteManifest(repository, c.digest)) {
        removed++;
        gone.push(c.digest);
      }
    } catch (err) {
      problems.push(`${c.digest} not deleted: ${(err as Error).message}`);
    }
  }
  return { mode, pushed: manifests.map((m) => m.descriptor.digest), removed, problems, gone };
}
