import { compareStrings, type VersionScheme } from './scheme.js';

/*
 * RubyGems' Gem::Version: segments are runs of digits or letters; a letter segment marks a
 * pre-release. Trailing zeros of the release part (and of the pre-release part) do not count, a
 * number is newer than letters, and missing segments are 0.
 */
function segments(v: string): Array<string | bigint> {
  // Gem::Version reads `1.0.0-1` as `1.0.0.pre.1`: a hyphen starts a pre-release.
  const raw =
    v
      .trim()
      .replace(/-/g, '.pre.')
      .match(/[0-9]+|[a-z]+/gi) ?? [];
  const segs: Array<string | bigint> = raw.map((s) => (/^\d/.test(s) ? BigInt(s) : s));
  const firstString = segs.findIndex((s) => typeof s === 'string');
  const release = firstString < 0 ? segs : segs.slice(0, firstString);
  const pre = firstString < 0 ? [] : segs.slice(firstString);
  const trim = (xs: Array<string | bigint>) => {
    while (xs.length && xs[xs.length - 1] === 0n) xs.pop();
    return xs;
  };
  return [...trim([...release]), ...trim([...pre])];
}

export const rubygemsScheme: VersionScheme = {
  name: 'rubygems',
  compare(a, b) {
    const x = segments(a);
    const y = segments(b);
    const n = Math.max(x.length, y.length);
    for (let i = 0; i < n; i++) {
      const l = x[i] ?? 0n;
      const r = y[i] ?? 0n;
      if (typeof l === 'bigint' && typeof r === 'bigint') {
        if (l !== r) return l < r ? -1 : 1;
      } else if (typeof l === 'string' && typeof r === 'string') {
        const d = compareStrings(l, r);
        if (d) return d;
      } else return typeof l === 'string' ? -1 : 1;
    }
    return 0;
  },
  valid: (v) => /^\s*[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\s*$/.test(v),
};
