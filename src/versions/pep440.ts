import { compare, valid } from '@renovatebot/pep440';
import { compareStrings, type VersionScheme } from './scheme.js';

/** PEP 440 through @renovatebot/pep440; versions it cannot parse sort before valid ones, textually among themselves. */
export const pep440Scheme: VersionScheme = {
  name: 'pep440',
  compare(a, b) {
    const va = valid(a) !== null;
    const vb = valid(b) !== null;
    if (va && vb) return Math.sign(compare(a, b));
    if (va !== vb) return va ? 1 : -1;
    return compareStrings(a, b);
  },
  valid: (v) => valid(v) !== null,
};
