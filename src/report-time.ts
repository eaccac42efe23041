import { createHash, randomUUID } from 'node:crypto';

/**
 * When a report says it was made, and its document id. With SOURCE_DATE_EPOCH set (the
 * reproducible-builds convention), both are fixed — the time is that epoch, the id derived from
 * the content it names — so the same scan gives byte-identical reports (CI caches, diffs).
 */
export function reportTime(): Date {
  const e = process.env.SOURCE_DATE_EPOCH;
  return e && /^\d{1,12}$/.test(e) ? new Date(Number(e) * 1000) : new Date();
}

export function reportId(seed: string): string {
  if (!process.env.SOURCE_DATE_EPOCH) return randomUUID();
  const h = createHash('sha256').update(seed).digest('hex');
  // Shaped as a version-4 UUID (variant bits set) so validators accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
