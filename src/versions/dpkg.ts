import { compareDigits, type VersionScheme } from './scheme.js';

/** Debian policy §5.6.12: [epoch:]upstream_version[-debian_revision]. */
function split(v: string): { epoch: string; upstream: string; revision: string } {
  let s = v.trim();
  let epoch = '0';
  const colon = s.indexOf(':');
  if (colon > 0 && /^\d+$/.test(s.slice(0, colon))) {
    epoch = s.slice(0, colon);
    s = s.slice(colon + 1);
  }
  const dash = s.lastIndexOf('-');
  if (dash >= 0) return { epoch, upstream: s.slice(0, dash), revision: s.slice(dash + 1) };
  return { epoch, upstream: s, revision: '' };
}

/** dpkg's character order: `~` before everything, even the end; letters before other characters. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (/\d/.test(c)) return 0;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !/\d/.test(a[i])) || (j < b.length && !/\d/.test(b[j]))) {
      const ac = i < a.length && !/\d/.test(a[i]) ? a[i] : undefined;
      const bc = j < b.length && !/\d/.test(b[j]) ? b[j] : undefined;
      const d = order(ac) - order(bc);
      if (d !== 0) return d < 0 ? -1 : 1;
      i++;
      j++;
    }
    let na = '';
    let nb = '';
    while (i < a.length && /\d/.test(a[i])) na += a[i++];
    while (j < b.length && /\d/.test(b[j])) nb += b[j++];
    const d = compareDigits(na || '0', nb || '0');
    if (d !== 0) return d;
  }
  return 0;
}

export const dpkgScheme: VersionScheme = {
  name: 'dpkg',
  compare(a, b) {
    const x = split(a);
    const y = split(b);
    return (
      compareDigits(x.epoch, y.epoch) ||
      verrevcmp(x.upstream, y.upstream) ||
      verrevcmp(x.revision, y.revision)
    );
  },
  valid: (v) => /^(\d+:)?\d[A-Za-z0-9.+~:-]*$/.test(v.trim()),
};
