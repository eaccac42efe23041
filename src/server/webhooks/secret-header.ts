import { createHash, timingSafeEqual } from 'node:crypto';
import type { RawRequest } from './types.js';

/**
 * Registries that send a fixed secret header (Harbor's auth header, ACR's custom headers): the
 * `Authorization` header, bare or as `Bearer SECRET`, compared in constant time.
 */
export function secretHeaderMatches(req: RawRequest, secret: string): boolean {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return false;
  const given = h.replace(/^(Bearer|Basic|Token)\s+/i, '');
  return same(given, secret) || same(h, secret);
}

/** Equal strings, compared without leaking where they differ (hashes give equal lengths). */
export function same(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
