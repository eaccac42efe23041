import { compareDigits, type VersionScheme } from './scheme.js';

/*
 * Composer/Packagist order: PHP's version_compare after dropping a leading v. Versions are
 * canonicalised (`-`, `_`, `+` become `.`, and `.` is put between digits and letters), then
 * compared part by part; words rank by their prefix: dev < alpha/a < beta/b < RC/rc < (number) <
 * pl/p; other words rank with dev.
 */
function parts(v: string): string[] {
  return v
    .trim()
    .replace(/^[vV]/, '')
    .replace(/[-_+]/g, '.')
    .replace(/([^\d.])(\d)/g, '$1.$2')
    .replace(/(\d)([^\d.])/g, '$1.$2')
    .split('.');
}

const FORMS = ['dev', 'a', 'b', 'rc', '#', 'p'];

function weight(word: string): number {
  if (word.startsWith('RC')) return 3;
  const i = FORMS.findIndex((f) => word.startsWith(f));
  return i < 0 ? 0 : i;
}

const isNumber = (s: string) => /^\d+$/.test(s);

function compareParts(a: string[], b: string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const an = isNumber(a[i]);
    const bn = isNumber(b[i]);
    const d =
      an && bn ? compareDigits(a[i], b[i]) : Math.sign(weight(an ? '#' : a[i]) - weight(bn ? '#' : b[i]));
    if (d) return d;
  }
  if (a.length > b.length) return isNumber(a[b.length]) ? 1 : compareParts(a.slice(b.length), ['#']);
  if (a.length < b.length) return isNumber(b[a.length]) ? -1 : compareParts(['#'], b.slice(a.length));
  return 0;
}

export const packagistScheme: VersionScheme = {
  name: 'packagist',
  compare: (a, b) => compareParts(parts(a), parts(b)),
  valid: (v) => /^[vV]?\d/.test(v.trim()),
};
