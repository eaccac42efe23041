import type { Package } from '../catalog/model.js';
import { compareDigits, type VersionScheme } from '../versions/scheme.js';
import { NODE_ECOSYSTEM, nodeVerdict } from '../vulndb/importers/nodejs.js';

/**
 * Components the binary classifiers find outside any package manager (node, python, nginx…) have
 * no ecosystem feed; NVD describes what each CVE affects as CPE match criteria instead. Each
 * classifier is mapped to the CPE vendor:product pairs NVD files its releases under, and only those
 * pairs are kept from the NVD feed (ecosystem `CPE`, package `vendor:product`).
 */
export const CPE_PRODUCTS: Record<string, string[]> = {
  node: ['nodejs:node.js'],
  python: ['python:python'],
  redis: ['redis:redis'],
  // F5 took nginx over; NVD files older CVEs under nginx:nginx.
  nginx: ['f5:nginx', 'nginx:nginx'],
  httpd: ['apache:http_server'],
  php: ['php:php'],
  ruby: ['ruby-lang:ruby'],
  openssl: ['openssl:openssl'],
  curl: ['haxx:curl', 'haxx:libcurl'],
  busybox: ['busybox:busybox'],
  postgresql: ['postgresql:postgresql'],
  haproxy: ['haproxy:haproxy'],
  memcached: ['memcached:memcached'],
  openjdk: ['oracle:openjdk'],
};

export const CPE_ECOSYSTEM = 'CPE';

/**
 * A product's own feed, preferred over NVD's CPE ranges once the database holds it: where its
 * records live, and how one decides a release (the feed's own range syntax).
 */
export interface OwnFeed {
  ecosystem: string;
  name: string;
  verdict(version: string, ecosystemSpecific: unknown): { affected: boolean; fixedVersion?: string };
}
export const OWN_FEEDS: Record<string, OwnFeed> = {
  node: {
    ecosystem: NODE_ECOSYSTEM,
    name: 'node',
    verdict: (v, e) => nodeVerdict(v, e as { vulnerable?: unknown; patched?: unknown }),
  },
};
const WANTED = new Set(Object.values(CPE_PRODUCTS).flat());

/** The vendor:product pairs a package is looked up under (binary-identified components only). */
export function cpeNamesOf(p: Package): string[] {
  return p.type === 'generic' && p.foundBy === 'binary' ? (CPE_PRODUCTS[p.name] ?? []) : [];
}

export function ownFeedOf(p: Package): OwnFeed | undefined {
  return cpeNamesOf(p).length ? OWN_FEEDS[p.name] : undefined;
}

/** `cpe:2.3:a:nodejs:node.js:18.12.1:*:…` → its part, vendor:product and version (CPE 2.3 escapes undone). */
export function parseCpe(
  criteria: string,
): { part: string; product: string; version: string; update: string } | undefined {
  if (!criteria.startsWith('cpe:2.3:')) return undefined;
  // Split on colons not escaped with a backslash.
  const fields = criteria
    .slice(8)
    .split(/(?<!\\):/)
    .map((f) => f.replace(/\\(.)/g, '$1'));
  if (fields.length < 5) return undefined;
  const [part, vendor, product, version, update] = fields;
  return { part, product: `${vendor}:${product}`.toLowerCase(), version, update: update ?? '*' };
}

export function wantedProduct(product: string): boolean {
  return WANTED.has(product);
}

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
