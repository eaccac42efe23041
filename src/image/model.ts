import type { Attestation, AttestationWithDoc } from './attestations.js';
/** What an image source yields: metadata plus the indexed content of each layer. */

export type FileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

export interface FileEntry {
  type: FileType;
  size: number;
  mode: number;
  /** Symlink target as written, or the hard link's target path (normalised, inside the root). */
  linkname?: string;
  /** Content of files an analyser asked for: bytes from a layer, or a reader for files on disk. */
  content?: Buffer | (() => Promise<Buffer>);
  /** What probes learned from the file's bytes (see probe.ts), by probe name. */
  probes?: Record<string, unknown>;
}

export interface LayerInfo {
  index: number;
  /** Digest of the blob as stored (compressed), when the source has one. */
  digest?: string;
  /** Digest of the uncompressed tar (config rootfs.diff_ids). */
  diffId?: string;
  mediaType?: string;
  size?: number;
  /** The history step that made this layer, e.g. `RUN apk add openssl`. */
  createdBy?: string;
}

export interface LayerContent {
  info: LayerInfo;
  /** Every entry of the layer by normalised path (no leading slash). */
  files: Map<string, FileEntry>;
  /** Paths removed from lower layers by `.wh.NAME` entries. */
  whiteouts: Set<string>;
  /** Directories whose lower-layer content is hidden (`.wh..wh..opq`). */
  opaqueDirs: Set<string>;
}

export interface HistoryEntry {
  created?: string;
  createdBy?: string;
  comment?: string;
  emptyLayer?: boolean;
}

export interface ImageMetadata {
  /** What the user asked for, e.g. `docker-archive:alpine.tar`. */
  target: string;
  kind: 'docker-archive' | 'oci-layout' | 'oci-archive' | 'rootfs' | 'sbom' | 'registry' | 'docker-daemon';
  /** Where a remote image was read from, e.g. `Docker Engine 20.10.24 at unix:///run/docker.sock`. */
  origin?: string;
  /** SBOM and provenance attestations the registry holds for the image. */
  attestations?: Attestation[];
  /** A human name: first repo tag, annotation ref name, or the path. */
  name: string;
  repoTags: string[];
  /** Digest of the image manifest, when the source has one. */
  manifestDigest?: string;
  /** Digest of the config blob (Docker's image ID). */
  configDigest?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  created?: string;
  labels: Record<string, string>;
  /** Annotations of the image manifest (OCI), e.g. org.opencontainers.image.base.name. */
  annotations?: Record<string, string>;
  history: HistoryEntry[];
  layers: LayerInfo[];
  /** Config facts later checks use. */
  config?: {
    user?: string;
    env?: string[];
    entrypoint?: string[];
    cmd?: string[];
    exposedPorts?: string[];
    /** HEALTHCHECK test, e.g. ["CMD", "curl", "-f", "http://localhost/"]; ["NONE"] disables it. */
    healthcheck?: string[];
  };
  warnings: string[];
}

export interface OpenedImage {
  metadata: ImageMetadata;
  layers: LayerContent[];
  /** The attested SBOM documents, beside metadata.attestations. */
  attestedSboms?: AttestationWithDoc[];
}

/** Normalised image path: no leading slash, no `.` segments. '' is the root. */
export type ImagePath = string;
