import type { Limits } from '../limits.js';
import type { LayerInfo } from '../model.js';
import type { ReadLayerResult, Wants } from '../layer-reader.js';

/** Random access to the files of an image archive or layout: small JSON documents and layer blobs. */
export interface BlobStore {
  /** The user's name for the input, used in messages. */
  readonly input: string;
  has(path: string): boolean;
  readSmall(path: string): Promise<Buffer>;
  readLayer(path: string, info: LayerInfo, wants: Wants, limits: Limits): Promise<ReadLayerResult>;
}

/** Blob path inside an OCI layout for a digest such as sha256:abc… */
export function blobPath(digest: string): string {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  if (!m) throw new Error(`malformed digest "${digest}"`);
  return `blobs/${m[1]}/${m[2]}`;
}
