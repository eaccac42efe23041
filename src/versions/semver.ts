import { compareDigits, compareStrings, type VersionScheme } from './scheme.js';

/*
 * SemVer 2.0 precedence, read leniently as ecosystems publish it: an optional `v`, any number of
 * numeric components (missing ones are 0), `-prerelease`, `+build` (ignored). Used for npm,
 * Go (`v1.2.3`, `+incompatible`), crates.io, Hex and Pub.
 */
interface Parsed {
  numbers: string[];
  pre: string[];
  rest: string;
}

export function parseSemverLike(v: string, caseInsensitive = false): Parsed {
  let s = v.trim().replace(/^v/i, '');
  const plus = s.indexOf('+');
  if (plus >= 0) s = s.slice(0, plus);
  const m = /^(\d+(?:\.\d+)*)(.*)$/.exec(s);
  if (!m) return { numbers: [], pre: [], rest: s };
  let rest = m[2];
  let pre: string[] = [];
  if (rest.startsWith('-')) {
    pre = rest.slice(1).split('.');
    rest = '';
  }
  if (caseInsensitive) pre = pre.map((p) => p.toLowerCase());
  return { numbers: m[1].split('.'), pre, rest };
}

export function comparePrerelease(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === undefined) return -1;
    if (b[i] === undefined) return 1;
    const an = /^\d+$/.test(a[i]);
    const bn = /^\d+$/.test(b[i]);
    const d = an && bn ? compareDigits(a[i], b[i]) : an ? -1 : bn ? 1 : compareStrings(a[i], b[i]);
    if (d) return d;
  }
  return 0;
}

export function compareSemverLike(x: Parsed, y: Parsed): number {
  const n = Math.max(x.numbers.length, y.numbers.length);
  for (let i = 0; i < n; i++) {
    const d = compareDigits(x.numbers[i] ?? '0', y.numbers[i] ?? '0');
    if (d) return d;
  }
  return comparePrerelease(x.pre, y.pre) || compareStrings(x.rest, y.rest);
}

export const semverScheme: VersionScheme = {
  name: 'semver',
  compare: (a, b) => compareSemverLike(parseSemverLike(a), parseSemverLike(b)),
  valid: (v) => /^v?\d+(\.\d+)*(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(v.trim()),
};
