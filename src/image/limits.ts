/** Bounds that keep hostile or broken input from exhausting memory or disk. */
export interface Limits {
  /** Largest uncompressed size of one layer, in bytes. */
  maxLayerBytes: number;
  /** Largest expansion ratio (uncompressed / compressed) once a layer passes ratioFloorBytes. */
  maxRatio: number;
  /** The ratio check applies only past this many uncompressed bytes (small files compress very well). */
  ratioFloorBytes: number;
  /** Largest single file an analyser may read into memory. */
  maxFileBytes: number;
  /** Largest total of small archive entries kept in memory while reading an archive. */
  maxBufferedBytes: number;
}

export const defaultLimits: Limits = {
  maxLayerBytes: 16 * 1024 ** 3,
  maxRatio: 200,
  ratioFloorBytes: 1024 ** 3,
  maxFileBytes: 512 * 1024 ** 2,
  maxBufferedBytes: 512 * 1024 ** 2,
};

/** Parse sizes such as 512M, 2G, 1024 (bytes). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k'];
  return Math.floor(parseFloat(m[1]) * mult);
}
