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
  // Old Docker images (2015) name their config so and still run.
  'application/octet-stream',
]);

/**
 * Layers a runtime may unpack into a container's filesystem: what containerd takes for a layer
 * (images.IsLayerType: any OCI layer type, compressed, encrypted or not; Docker's rootfs diffs), an
 * untyped blob, and a layer whose type is missing. A manifest with one of them may run.
 */
const FILESYSTEM_LAYER =
  /^application\/(vnd\.oci\.image\.layer\.|vnd\.docker\.image\.rootfs\.|octet-stream$)/;

/**
 * Why a manifest (already read, bounded) is an artifact and not an image, or undefined for an image,
 * an index, or what may be one. What cannot be parsed is left to the scan, which reports it.
 *
 * Only what no runtime can run is an artifact: a manifest a pod could start from must be scanned
 * (a skipped one would be admitted wherever unknown images are, and never judged). A `subject`, an
 * `artifactType` or an odd config type is anyone's to add to a runnable image, so none of them
 * alone makes an artifact; layers that are all non-filesystem (signatures, attestations, SBOMs,
 * charts), or no layers and no image config, do.
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
  // An index is resolved by the scan to the image of its platform (a runnable child is scanned).
  if (Array.isArray(o.manifests)) return undefined;
  const layers: unknown[] = Array.isArray(o.layers) ? o.layers : [];
  const typeOf = (l: unknown) =>
    l && typeof l === 'object' ? (l as { mediaType?: unknown }).mediaType : undefined;
  if (layers.some((l) => typeof typeOf(l) !== 'string' || FILESYSTEM_LAYER.test(typeOf(l) as string)))
    return undefined;
  const config = o.config as { mediaType?: unknown } | undefined;
  const configType = config && typeof config === 'object' ? config.mediaType : undefined;
  // No layers under an image config: an empty image (the scan finds nothing, cheaply).
  if (!layers.length && (typeof configType !== 'string' || IMAGE_CONFIGS.has(configType))) return undefined;
  // Not runnable: say what it is.
  if (o.subject && typeof o.subject === 'object') return 'a referrer (it has a subject)';
  if (typeof o.artifactType === 'string' && o.artifactType) return `an artifact of type ${o.artifactType}`;
  if (!layers.length) return `an artifact with config ${String(configType)} and no layers`;
  return `an artifact of ${String(typeOf(layers[0]))} layers`;
}
