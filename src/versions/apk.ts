import { compareDigits, compareStrings, type VersionScheme } from './scheme.js';

/*
 * apk versions: number{.number}…{letter}{_suffix{number}}…{~hash}{-r#}
 * (apk-package(5)). Suffix order: alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p.
 * A string that does not fit is "invalid": two invalid ones compare as plain strings, and a
 * valid one with leftovers sorts below one without.
 */
const SUFFIXES = ['alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'];
const NO_SUFFIX = SUFFIXES.indexOf('');

interface Parsed {
  original: string;
  invalid: boolean;
  numbers: string[];
  letter: string;
  suffixes: Array<{ weight: number; number: string }>;
  build: string;
  remainder: string;
}

function parse(original: string): Parsed {
  let s = original;
  const nums = /^((\d+)\.?)*/.exec(s)![0];
  const numbers = nums.split('.');
  s = s.slice(nums.length);
  let letter = '';
  if (/^[a-z]/.test(s)) {
    letter = s[0];
    s = s.slice(1);
  }
  const suffixes: Parsed['suffixes'] = [];
  for (;;) {
    const m = /^_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)/.exec(s);
    if (!m) break;
    suffixes.push({ weight: SUFFIXES.indexOf(m[1]), number: m[2] || '0' });
    s = s.slice(m[0].length);
  }
  const hash = /^~[0-9a-f]+/.exec(s);
  if (hash) s = s.slice(hash[0].length);
  let build = '0';
  let invalid = false;
  if (s !== '') {
    const m = /^-r(\d*)/.exec(s);
    if (m) {
      build = m[1] || '0';
      s = s.slice(m[0].length);
    } else invalid = true;
  }
  return { original, invalid, numbers, letter, suffixes, build, remainder: s };
}

function compareNumbers(a: string[], b: string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    // After the first component, a leading zero makes the comparison textual (1.02 < 1.1).
    if (x !== undefined && y !== undefined && i > 0 && (x[0] === '0' || y[0] === '0')) {
      const d = compareStrings(x, y);
      if (d) return d;
      continue;
    }
    const d = compareDigits(x || '0', y || '0');
    if (d) return d;
  }
  return 0;
}

function compareParsed(v: Parsed, w: Parsed): number {
  if (v.invalid && w.invalid) return compareStrings(v.original, w.original);
  let d = compareNumbers(v.numbers, w.numbers);
  if (d) return d;
  if (v.letter !== w.letter) {
    if (!v.letter) return -1;
    if (!w.letter) return 1;
    return compareStrings(v.letter, w.letter);
  }
  const n = Math.max(v.suffixes.length, w.suffixes.length);
  for (let i = 0; i < n; i++) {
    const x = v.suffixes[i] ?? { weight: NO_SUFFIX, number: '0' };
    const y = w.suffixes[i] ?? { weight: NO_SUFFIX, number: '0' };
    if (x.weight !== y.weight) return x.weight < y.weight ? -1 : 1;
    d = compareDigits(x.number, y.number);
    if (d) return d;
  }
  d = compareDigits(v.build, w.build);
  if (d) return d;
  if (v.remainder === '' && w.remainder !== '') return 1;
  if (v.remainder !== '' && w.remainder === '') return -1;
  return 0;
}

export const apkScheme: VersionScheme = {
  name: 'apk',
  compare: (a, b) => compareParsed(parse(a), parse(b)),
  valid: (v) => !parse(v).invalid && /^\d/.test(v),
};
