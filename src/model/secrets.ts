// What the secret scanner reports, as every room above it sees it (reports, the store, policies).
import type { LayerInfo } from '../image/model.js';
import type { SeverityLevel } from './severity.js';

/**
 * Files larger than this are not searched by default (secrets live in small config files, keys,
 * scripts); `--secret-max-file-size` changes it. A file not searched is counted and named.
 */
export const DEFAULT_SECRET_MAX_FILE = 5 * 1024 * 1024;
/** The most `--secret-max-file-size` may ask: one file is held in memory (twice, decoded) while searched. */
export const MAX_SECRET_MAX_FILE = 256 * 1024 * 1024;

export interface SecretMatch {
  rule: string;
  title: string;
  severity: SeverityLevel;
  /** 1-based line of the match. */
  line: number;
  /** The secret, masked. */
  match: string;
}

/** Why a file was not searched: over the size limit, or binary (a NUL in its first 8 KiB). */
export type NotSearchedReason = 'size' | 'binary';

/** The files a scan's secret search passed over: counted, and the first few named. */
export interface SecretCoverage {
  /** The size limit in force, in bytes. */
  maxFileSize: number;
  notSearched: Record<NotSearchedReason, number>;
  /** Files not searched, those over the size limit first; at most 100 (secrets/scan.ts). */
  files: Array<{ path: string; reason: NotSearchedReason; size: number }>;
}

export interface SecretFinding extends SecretMatch {
  /** File path inside the image, or `image config` / `history` for what the config carries. */
  path: string;
  layer?: LayerInfo;
  /** The file was removed by a later layer: gone from the filesystem, still in the image. */
  deleted?: boolean;
}
