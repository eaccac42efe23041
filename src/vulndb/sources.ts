/**
 * The upstream feeds `db update` reads by default. Every URL can be changed: CUSTOMS_MIRROR
 * points them all at a mirror that serves the same paths (air-gapped sites, tests), and
 * CUSTOMS_SOURCES names a JSON file mapping source names to URLs (lists for multi-file sources).
 */
import { readFileSync } from 'node:fs';
import { CustomsError } from '../errors.js';

export interface FeedSource {
  /** As `db status` and `--only` name it: osv:PyPI, alpine-secdb, kev… */
  name: string;
  /** One or more files that together make the source. */
  urls: string[];
  /** How to check a file: NVD publishes `.meta` files with the sha256 of the uncompressed JSON. */
  checksum?: 'nvd-meta';
  /** Replaced wholesale on update: the rows this source contributed before are dropped first. */
  replaces: { source: string; ecosystem?: string };
}

export const OSV_ECOSYSTEMS = [
  'Alpine',
  'Debian',
  'Ubuntu',
  'AlmaLinux',
  'Rocky Linux',
  'Red Hat',
  'SUSE',
  'openSUSE',
  'Wolfi',
  'Chainguard',
  'npm',
  'PyPI',
  'Maven',
  'Go',
  'crates.io',
  'RubyGems',
  'NuGet',
  'Packagist',
  'Hex',
  'Pub',
];
export const ALPINE_BRANCHES = [
  'v3.12',
  'v3.13',
  'v3.14',
  'v3.15',
  'v3.16',
  'v3.17',
  'v3.18',
  'v3.19',
  'v3.20',
  'v3.21',
  'v3.22',
  'edge',
];

const OSV_BUCKET = 'https://osv-vulnerabilities.storage.googleapis.com';

export function defaultSources(now = new Date()): FeedSource[] {
  const year = now.getUTCFullYear();
  const nvdYears = Array.from({ length: year - 2002 + 1 }, (_, i) => 2002 + i);
  return [
    ...OSV_ECOSYSTEMS.map((eco) => ({
      name: `osv:${eco}`,
      urls: [`${OSV_BUCKET}/${encodeURIComponent(eco)}/all.zip`],
      replaces: { source: 'osv', ecosystem: eco },
    })),
    {
      name: 'alpine-secdb',
      urls: ALPINE_BRANCHES.flatMap((b) => [
        `https://secdb.alpinelinux.org/${b}/main.json`,
        `https://secdb.alpinelinux.org/${b}/community.json`,
      ]),
      replaces: { source: 'alpine-secdb' },
    },
    {
      name: 'debian-tracker',
      urls: ['https://security-tracker.debian.org/tracker/data/json'],
      replaces: { source: 'debian-tracker' },
    },
    {
      name: 'kev',
      urls: ['https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json'],
      replaces: { source: 'kev' },
    },
    {
      name: 'epss',
      urls: ['https://epss.empiricalsecurity.com/epss_scores-current.csv.gz'],
      replaces: { source: 'epss' },
    },
    {
      name: 'nvd',
      urls: nvdYears.map((y) => `https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-${y}.json.gz`),
      checksum: 'nvd-meta',
      replaces: { source: 'nvd' },
    },
  ];
}

/** Apply CUSTOMS_MIRROR and CUSTOMS_SOURCES to the default list. */
export function configuredSources(env = process.env): FeedSource[] {
  let sources = defaultSources();
  if (env.CUSTOMS_SOURCES) {
    let overrides: Record<string, string | string[]>;
    try {
      overrides = JSON.parse(readFileSync(env.CUSTOMS_SOURCES, 'utf8'));
    } catch (err) {
      throw new CustomsError(
        `CUSTOMS_SOURCES: ${env.CUSTOMS_SOURCES} is not a readable JSON object (${(err as Error).message})`,
      );
    }
    sources = sources.map((s) =>
      overrides[s.name] ? { ...s, urls: ([] as string[]).concat(overrides[s.name]) } : s,
    );
  }
  if (env.CUSTOMS_MIRROR) {
    const mirror = env.CUSTOMS_MIRROR.replace(/\/+$/, '');
    sources = sources.map((s) => ({ ...s, urls: s.urls.map((u) => mirror + new URL(u).pathname) }));
  }
  return sources;
}

/** `--only osv:PyPI,osv:Go,alpine-secdb` (also `osv` for every OSV ecosystem). */
export function selectSources(all: FeedSource[], only?: string): FeedSource[] {
  if (!only) return all;
  const wanted = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const picked = all.filter((s) => wanted.some((w) => s.name === w || s.name.split(':')[0] === w));
  const unknown = wanted.filter((w) => !all.some((s) => s.name === w || s.name.split(':')[0] === w));
  if (unknown.length)
    throw new CustomsError(
      `unknown source(s) ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`,
    );
  return picked;
}
