import { DomainError } from '../services/errors.js';

/**
 * How deep a request body may nest. Reports, AdmissionReviews and settings stay well inside
 * (a Pod's affinity rules are about 12 levels); a 100k-deep value would overflow the stack of
 * whatever walks it next (schema validation, serialising), a 500 instead of a clear 400.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of JSON text, counted over bytes before anything parses it (one pass, no
 * allocation; brackets inside strings do not count). Stops at `limit + 1`.
 */
export function jsonDepth(buf: Uint8Array, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** A request body as JSON, or a 400 that says what is wrong with it. */
export function parseJsonBody(buf: Buffer, limit = MAX_JSON_DEPTH): unknown {
  if (!buf.length) return {};
  if (jsonDepth(buf, limit) > limit)
    throw new DomainError('invalid', `the request body nests deeper than ${limit} levels`, 'too_deep');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new DomainError(
      'invalid',
      `the request body is not valid JSON: ${(err as Error).message}`,
      'malformed_json',
    );
  }
}
