import { compare, valid } from '@renovatebot/pep440';
import { compareStrings, type VersionScheme } from './scheme.js';

/**
 * Parsing is most of a PEP 440 comparison, and a fleet's re-match compares the same installed
 * versions against the same advisory events over and over: results are memoised (bounded, the
 * whole cache dropped when full).
 */
const MAX_CACHED = 200_000;
const validity = new Map<string, boolean>();
const order = new Map<string, number>();

function isValid(v: string): boolean {
  let r = validity.get(v);
  if (r === undefined) {
    if (validity.size >= MAX_CACHED) validity.clear();
    validity.set(v, (r = valid(v) !== null));
  }
  return r;
}

/** PEP 440 through @renovatebot/pep440; versions it cannot parse sort before valid ones, textually among themselves. */
export const pep440Scheme: VersionScheme = {
  name: 'pep440',
  compare(a, b) {
    const va = isValid(a);
    const vb = isValid(b);
    if (va && vb) {
      const key = `${a}\u0000${b}`;
      let r = order.get(key);
      if (r === undefined) {
        if (order.size >= MAX_CACHED) order.clear();
        order.set(key, (r = Math.sign(compare(a, b))));
      }
      return r;
    }
    if (va !== vb) return va ? 1 : -1;
    return compareStrings(a, b);
  },
  valid: isValid,
};
