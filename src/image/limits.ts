import { Transform, type TransformCallback } from 'node:stream';
import { CustomsError } from '../errors.js';

/** Bounds that keep hostile or broken input from exhausting memory or disk. */
export interface Limits {
  /** Largest uncompressed size of one layer, in bytes. */
  maxLayerBytes: number;
  /** Largest expansion ratio (uncompressed / compressed) once a layer passes ratioFloorBytes. */
  maxRatio: number;
  /** The ratio check applies only past this many uncompressed bytes (small files compress very well). */
  ratioFloorBytes: number;
  /**
   * Largest single file an analyser may read into memory to parse whole as text (JSON, YAML…):
   * parsing holds the bytes, the decoded string and what is built from it, several times the file.
   */
  maxFileBytes: number;
  /** Largest package database parsed in place as bytes (rpm's Berkeley DB, NDB and SQLite). */
  maxDatabaseBytes: number;
  /** Largest total of small archive entries kept in memory while reading an archive. */
  maxBufferedBytes: number;
  /** Largest total of wanted file contents kept in memory over the whole scan. */
  maxHeldBytes: number;
  /** The running total against maxHeldBytes (made once per scan by openImage). */
  budget?: MemoryBudget;
}

export const defaultLimits: Limits = {
  maxLayerBytes: 16 * 1024 ** 3,
  maxRatio: 200,
  ratioFloorBytes: 1024 ** 3,
  maxFileBytes: 64 * 1024 ** 2,
  maxDatabaseBytes: 256 * 1024 ** 2,
  maxBufferedBytes: 512 * 1024 ** 2,
  // With the fixed overhead (docs/scanning.md, "Memory"), this keeps a scan under 1 GiB RSS.
  maxHeldBytes: 512 * 1024 ** 2,
};

/** The read limit for a wanted file: a database parsed in place may be larger than a text file. */
export function fileLimit(limits: Limits, database: boolean): number {
  return database ? Math.max(limits.maxDatabaseBytes, limits.maxFileBytes) : limits.maxFileBytes;
}

/** The warning for a wanted file over its read limit: what is not listed, and why. */
export function tooLarge(path: string, size: number, max: number): string {
  return `${path}: ${size} bytes is larger than the ${max}-byte read limit; skipped (the packages it lists are not inventoried)`;
}

/** Parse sizes such as 512M, 2G, 1024 (bytes). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k'];
  return Math.floor(parseFloat(m[1]) * mult);
}

/** Counts bytes passing through (no hashing: for streams nobody verifies). */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * The decompression-bomb guard for a decompressed stream: more than `max` bytes, or more than
 * maxRatio× the compressed bytes once past ratioFloorBytes, ends the stream with a clear error.
 */
export function sizeGuard(what: string, limits: Limits, compressed: ByteCounter, max: number): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > max)
        return cb(
          new CustomsError(
            `${what} expands past ${max} bytes: refusing a possible decompression bomb (raise --max-layer-size)`,
          ),
        );
      if (
        bytes > limits.ratioFloorBytes &&
        compressed.bytes > 0 &&
        bytes / compressed.bytes > limits.maxRatio
      )
        return cb(
          new CustomsError(
            `${what} expands more than ${limits.maxRatio}x its compressed size: refusing a possible decompression bomb`,
          ),
        );
      cb(null, chunk);
    },
  });
}

/**
 * One budget per scan for file contents held in memory (package databases, lockfiles…): a few
 * small layers each carrying a huge "wanted" file must not add up to gigabytes.
 */
export class MemoryBudget {
  used = 0;
  /** Bytes nested archives (jars in jars) may still inflate in this scan, all archives together. */
  archiveBytesLeft = 4 * 1024 ** 3;
  constructor(readonly max: number) {}
  take(bytes: number, what: string): void {
    this.used += bytes;
    if (this.used > this.max)
      throw new CustomsError(
        `${what}: more than ${this.max} bytes of file contents held in memory for this scan; refusing (an image this size is hostile or broken)`,
      );
  }
}
