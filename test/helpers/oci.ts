import { createHash } from 'node:crypto';
import { artifactReason } from '../../src/image/registry/artifact.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A descriptor of a one-byte layer of this media type. */
export const layerOf = (mediaType: string) => ({ mediaType, size: 1, digest: sha(Buffer.from('x')) });

/** A runnable image manifest (image config, one filesystem layer): what an artifact must not be taken for. */
export const runnableImage = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    size: 2,
    digest: sha(Buffer.from('{}')),
  },
  layers: [layerOf('application/vnd.oci.image.layer.v1.tar+gzip')],
};

/** Why the scan job would take this manifest for an artifact (undefined: an image, scanned). */
export const artifactReasonOf = (m: object, mediaType = OCI_MANIFEST) =>
  artifactReason(Buffer.from(JSON.stringify(m)), mediaType);
