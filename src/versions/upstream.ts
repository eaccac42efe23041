import { compareDigits, type VersionScheme } from './scheme.js';

/**
 * Version order for upstream releases as NVD writes them (`18.12.1`, `1.1.1k`, `3.12.0rc1`,
 * `2.4.57`): runs of digits compare as numbers, a pre-release word (alpha, beta, rc, pre, dev)
 * sorts before the release it precedes, any other letters after it (OpenSSL's `1.1.1k`).
 * Written here: no library orders these NVD version strings.
 */
const PRE = /^(alpha|beta|rc|pre|preview|dev)$/;
const tokens = (v: string) => v.toLowerCase().match(/\d+|[a-z]+/g) ?? [];
/** A pre-release word: alpha, rc…, or Python's a/b when a number follows (3.12.0a1), not 1.1.1a. */
const pre = (t: string[], i: number) => PRE.test(t[i]) || (/^[ab]$/.test(t[i]) && /^\d/.test(t[i + 1] ?? ''));
export function compareUpstream(a: string, b: string): number {
  const x = tokens(a);
  const y = tokens(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    if (p === undefined) return pre(y, i) ? 1 : -1;
    if (q === undefined) return pre(x, i) ? -1 : 1;
    const pn = /^\d/.test(p);
    const qn = /^\d/.test(q);
    if (pn && qn) {
      const d = compareDigits(p, q);
      if (d) return d;
      continue;
    }
    // A number against a word: 1.0.1 after 1.0rc1 (the word is a pre-release) and before 1.0a.
    if (pn !== qn) return pn ? (pre(y, i) ? 1 : -1) : pre(x, i) ? -1 : 1;
    if (pre(x, i) !== pre(y, i)) return pre(x, i) ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

export const upstreamScheme: VersionScheme = {
  name: 'upstream',
  compare: compareUpstream,
  valid: (v) => /^\d/.test(v),
};
