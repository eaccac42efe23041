/**
 * The upstream feeds `db update` reads by default. Every URL can be changed: CUSTOMS_MIRROR
 * points them all at a mirror that serves the same paths (air-gapped sites, tests), and
 * CUSTOMS_SOURCES names a JSON file mapping source names to URLs (lists for multi-file sources).
 */
import { readFileSync } from 'node:fs';
import { CustomsError } from '../errors.js';
import { OSV_ECOSYSTEMS } from '../ecosystems/index.js';

export interface FeedSource {
  /** As `db status` and `--only` name it: osv:PyPI, alpine-secdb, kev… */
  name: string;
  /** One or more files that together make the source. */
  urls: string[];
  /** How to check a file: NVD publishes `.meta` files with the sha256 of the uncompressed JSON. */
  checksum?: 'nvd-meta';
  /** Replaced wholesale on update: the rows this source contributed before are dropped first. */
  replaces: { source: string; ecosystem?: string };
  /**
   * One of several files failing does not fail the source: that file's last good copy is used
   * (or it is left out, with a warning). Alpine's branches and NVD's years are such files.
   */
  partial?: boolean;
  /** Its file list is read from upstream's own index at update time (the list here is the fallback). */
  discover?: 'osv' | 'alpine';
}

/** The fallback when OSV's ecosystems.txt cannot be read: derived from the ecosystem and distro records. */
export { OSV_ECOSYSTEMS };
/** The fallback when secdb's index cannot be read. */
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
  'v3.23',
  'v3.24',
  'edge',
];

const OSV_BUCKET = 'https://osv-vulnerabilities.storage.googleapis.com';

export function defaultSources(now = new Date()): FeedSource[] {
  const year = now.getUTCFullYear();
  const nvdYears = Array.from({ length: year - 2002 + 1 }, (_, i) => 2002 + i);
  return [
    ...OSV_ECOSYSTEMS.map((eco) => osvSource(eco, OSV_BUCKET)),
    alpineSource(ALPINE_BRANCHES, SECDB),
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
      partial: true,
    },
  ];
}

const SECDB = 'https://secdb.alpinelinux.org';

function osvSource(eco: string, bucket: string): FeedSource {
  return {
    name: `osv:${eco}`,
    urls: [`${bucket}/${encodeURIComponent(eco)}/all.zip`],
    replaces: { source: 'osv', ecosystem: eco },
    discover: 'osv',
  };
}

function alpineSource(branches: string[], base: string): FeedSource {
  return {
    name: 'alpine-secdb',
    urls: branches.flatMap((b) => [`${base}/${b}/main.json`, `${base}/${b}/community.json`]),
    replaces: { source: 'alpine-secdb' },
    partial: true,
    discover: 'alpine',
  };
}

/** OSV's ecosystems.txt: one ecosystem a line; releases (`Debian:12`) live inside their base's zip. */
export function parseOsvEcosystems(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.includes(':') && !l.startsWith('#')),
    ),
  ];
}

/** secdb's index page: its branch folders (v3.2 … v3.24, edge), oldest first. */
export function parseSecdbIndex(html: string): string[] {
  const found = new Set<string>();
  for (const m of html.matchAll(/href="\.?\/?(v\d+\.\d+|edge)\/"/g)) found.add(m[1]);
  const num = (b: string) => (b === 'edge' ? [Infinity, 0] : b.slice(1).split('.').map(Number));
  return [...found].sort((a, b) => num(a)[0] - num(b)[0] || num(a)[1] - num(b)[1]);
}

/**
 * Replace the built-in OSV ecosystem and Alpine branch lists with what upstream publishes today,
 * so that a new ecosystem or branch needs no new Customs. A list that cannot be read keeps the
 * built-in one, with a warning.
 */
export async function discoverSources(
  sources: FeedSource[],
  fetchText: (url: string) => Promise<string>,
  warn: (line: string) => void = () => undefined,
): Promise<FeedSource[]> {
  const osv = sources.filter((s) => s.discover === 'osv');
  const alpine = sources.find((s) => s.discover === 'alpine');
  let out = sources;
  if (osv.length) {
    const bucket = osv[0].urls[0].replace(/\/[^/]+\/all\.zip$/, '');
    try {
      const ecos = parseOsvEcosystems(await fetchText(`${bucket}/ecosystems.txt`));
      if (!ecos.length) throw new Error('it lists no ecosystem');
      const first = out.indexOf(osv[0]);
      out = out.filter((s) => s.discover !== 'osv');
      out.splice(first, 0, ...ecos.map((e) => osvSource(e, bucket)));
    } catch (err) {
      warn(`OSV's ecosystems.txt could not be read (${(err as Error).message}); the built-in list is used`);
    }
  }
  if (alpine) {
    const base = alpine.urls[0].replace(/\/[^/]+\/[^/]+$/, '');
    try {
      const branches = parseSecdbIndex(await fetchText(`${base}/`));
      if (!branches.length) throw new Error('it lists no branch');
      out = out.map((s) => (s === alpine ? alpineSource(branches, base) : s));
    } catch (err) {
      warn(`the secdb index could not be read (${(err as Error).message}); the built-in branch list is used`);
    }
  }
  return out;
}

/** A small index file (ecosystems.txt, secdb's folder listing), whole, within a time limit. */
export async function fetchIndex(url: string, timeoutMs = 30_000): Promise<string> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { 'user-agent': 'customs' },
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  // Read with a cap as it arrives: res.text() took an endless body whole before its length was seen.
  const max = 4 * 1024 * 1024;
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += c.length;
    if (n > max) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error('larger than 4 MiB');
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
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
    // A source given its files by hand is not re-discovered from upstream's index.
    sources = sources.map((s) =>
      overrides[s.name] ? { ...s, urls: ([] as string[]).concat(overrides[s.name]), discover: undefined } : s,
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
