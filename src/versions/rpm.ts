import { compareDigits, compareStrings, type VersionScheme } from './scheme.js';

const isAlnum = (c: string) => /[A-Za-z0-9]/.test(c);
const isDigit = (c: string) => c >= '0' && c <= '9';
const isAlpha = (c: string) => /[A-Za-z]/.test(c);

/** rpm's rpmvercmp: alphanumeric segments, `~` sorts before anything, `^` after the base version. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const test = numeric ? isDigit : isAlpha;
    let si = i;
    let sj = j;
    while (si < a.length && test(a[si])) si++;
    while (sj < b.length && test(b[sj])) sj++;
    const sa = a.slice(i, si);
    const sb = b.slice(j, sj);
    // Segments of different kinds: a number is newer than letters.
    if (sb === '') return numeric ? 1 : -1;
    const d = numeric ? compareDigits(sa, sb) : compareStrings(sa, sb);
    if (d !== 0) return d;
    i = si;
    j = sj;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** [epoch:]version[-release]; a missing epoch is 0, a missing release sorts before any release. */
function split(v: string): { epoch: string; version: string; release?: string } {
  let s = v.trim();
  let epoch = '0';
  const colon = s.indexOf(':');
  if (colon >= 0) {
    epoch = s.slice(0, colon) || '0';
    s = s.slice(colon + 1);
  }
  const dash = s.lastIndexOf('-');
  if (dash >= 0) return { epoch, version: s.slice(0, dash), release: s.slice(dash + 1) };
  return { epoch, version: s };
}

export const rpmScheme: VersionScheme = {
  name: 'rpm',
  compare(a, b) {
    const x = split(a);
    const y = split(b);
    const e = rpmvercmp(x.epoch, y.epoch);
    if (e !== 0) return e;
    const v = rpmvercmp(x.version, y.version);
    if (v !== 0) return v;
    if (x.release === undefined || y.release === undefined) {
      return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
    }
    return rpmvercmp(x.release, y.release);
  },
  valid: (v) => v.trim() !== '',
};
