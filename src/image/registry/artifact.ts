/**
 * Manifests that are about an image rather than images: cosign signatures and attestations, SBOMs,
 * OCI 1.1 referrers and referrers-tag indexes. A registry notifies about them like any push; taken
 * for images, the server would scan them and sign attestations about its own attestations (a loop).
 */

/** Tags cosign and the OCI referrers fallback give artifacts about an image (`sha256-<hex>[.sig]`). */
export const SIDECAR_TAG = /^sha256-[a-f0-9]{64}(\.(sig|att|sbom))?$/;

/** The OCI 1.1 draft's artifact manifest (withdrawn, still pushed by some tools). */
export const ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';

const IMAGE_CONFIGS = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** Layer media types of signatures, attestations and SBOMs: no image has only these. */
const ARTIFACT_LAYER =
  /^application\/(vnd\.dev\.cosign\.|vnd\.dsse\.envelope|vnd\.in-toto|spdx|vnd\.cyclonedx|vnd\.syft|vnd\.dev\.sigstore\.)/;

/**
 * Why a manifest (already read, bounded) is an artifact and not an image, or undefined for an image
 * or an index of images. What cannot be parsed is left to the scan, which reports it.
 */
export function artifactReason(body: Buffer, mediaType: string): string | undefined {
  if (mediaType === ARTIFACT_MANIFEST) return 'an OCI artifact manifest';
  let m: unknown;
  try {
    m = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const o = m as Record<string, unknown>;
  if (o.mediaType === ARTIFACT_MANIFEST) return 'an OCI artifact manifest';
  // A referrer names the manifest it is about; an image never does.
  if (o.subject && typeof o.subject === 'object') return 'a referrer (it has a subject)';
  if (typeof o.artifactType === 'string' && o.artifactType) return `an artifact of type ${o.artifactType}`;
  const config = o.config as { mediaType?: unknown } | undefined;
  if (config && typeof config === 'object' && typeof config.mediaType === 'string')
    if (!IMAGE_CONFIGS.has(config.mediaType)) return `an artifact with config ${config.mediaType}`;
  const layers = Array.isArray(o.layers) ? (o.layers as Array<{ mediaType?: unknown }>) : [];
  if (
    layers.length &&
    layers.every((l) => l && typeof l.mediaType === 'string' && ARTIFACT_LAYER.test(l.mediaType))
  )
    return `an artifact of ${String(layers[0].mediaType)} layers`;
  return undefined;
}
