import { createHash } from 'node:crypto';
import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import { CPE_ECOSYSTEM, cpeNamesOf } from '../match/cpe.js';
import { ECOSYSTEM_OF_PURL, STATICALLY_LINKED } from '../match/matcher.js';
import { osTarget } from '../match/os-matcher.js';
import type { VulnStore } from '../vulndb/store.js';
import type { Coverage, CoverageEntry, CoverageStatus, DatabaseInfo } from '../model/scan.js';

/**
 * Whether the database could have found anything in each part of an image: its OS release and
 * each package ecosystem. "0 findings" means nothing only where the database holds that part's
 * advisories, from a source whose last update worked and is not stale; elsewhere a report must
 * say so instead of reading like a pass (docs/scanning.md, "Coverage").
 */

/**
 * What the database holds for an ecosystem, asked cheaply: the rows of the image's own packages
 * come from the matcher's memo; only when those say nothing is the table asked, through the
 * (eco_base, package) index (a DISTINCT over a distro's million rows took a second).
 */
const held = new WeakMap<VulnStore, Map<string, unknown>>();
function memo<T>(store: VulnStore, key: string, load: () => T): T {
  let m = held.get(store);
  if (!m) held.set(store, (m = new Map()));
  if (!m.has(key)) m.set(key, load());
  return m.get(key) as T;
}
/** One source holding advisories of the ecosystem, or undefined when it has none. */
const anySource = (store: VulnStore, ecoBase: string) =>
  memo(
    store,
    `any\u0000${ecoBase}`,
    () =>
      (
        store.db
          .prepare('SELECT source FROM affected INDEXED BY affected_by_package WHERE eco_base = ? LIMIT 1')
          .get(ecoBase) as { source: string } | undefined
      )?.source,
  );
/** Every (source, release) of an ecosystem: the slow question, asked only when the image's rows cannot tell. */
const releasesOf = (store: VulnStore, ecoBase: string) =>
  memo(
    store,
    `releases\u0000${ecoBase}`,
    () =>
      store.db
        .prepare(
          'SELECT DISTINCT source, eco_release AS release FROM affected INDEXED BY affected_by_package WHERE eco_base = ?',
        )
        .all(ecoBase) as Array<{ source: string; release: string }>,
  );

/**
 * The sources of an OS release's advisories for these package keys, and whether the database holds
 * any rows to tell (none: no advisories of the distribution at all). The image's own rows first
 * (the matcher asked for them already); the whole table only when none of its packages has an
 * advisory in any release. Kept per store, release and key set (at most 5,000, then forgotten).
 */
function osSources(
  store: VulnStore,
  os: OsInfo,
  target: NonNullable<ReturnType<typeof osTarget>>,
  keys: string[],
): { held: boolean; sources: string[] } {
  const seen = memo(store, 'os-sources', () => new Map<string, { held: boolean; sources: string[] }>());
  // Hashed: a key set can run to hundreds of names, and 5,000 of them would be kept.
  const key = createHash('sha256')
    .update(JSON.stringify([os, target.ecoBase, [...keys].sort()]))
    .digest('base64');
  let r = seen.get(key);
  // A copy: the list goes into each image's coverage.
  if (r) return { held: r.held, sources: [...r.sources] };
  const mineRows = [...store.affectedFor(target.ecoBase, keys).values()]
    .flat()
    .map((row) => ({ source: row.source, release: row.ecoRelease }));
  const rows = mineRows.some((row) => target.releaseMatches(row.release))
    ? mineRows
    : anySource(store, target.ecoBase)
      ? releasesOf(store, target.ecoBase)
      : [];
  const release = rows.filter((row) => target.releaseMatches(row.release));
  r = { held: rows.length > 0, sources: [...new Set(release.map((row) => row.source))].sort() };
  if (seen.size >= 5000) seen.clear();
  seen.set(key, r);
  return { held: r.held, sources: [...r.sources] };
}

/**
 * The sources of the rows of these package names in an ecosystem (repeats left in), kept by name:
 * images share most of their names, and the rows' lists were built again for each image.
 */
function nameSources(store: VulnStore, eco: string, names: string[]): string[] {
  const seen = memo(store, `name-sources\u0000${eco}`, () => new Map<string, string[]>());
  let missing = names.filter((n) => !seen.has(n));
  if (missing.length && seen.size >= 200_000) {
    seen.clear();
    missing = names;
  }
  if (missing.length) {
    const rows = store.affectedFor(eco, missing);
    for (const n of missing) seen.set(n, [...new Set((rows.get(n) ?? []).map((r) => r.source))]);
  }
  return names.flatMap((n) => seen.get(n)!);
}

/** Packages the matcher sends to an ecosystem's advisories (as matchLanguagePackages picks them). */
function languageEcosystems(packages: Package[]): Map<string, { packages: number; names: Set<string> }> {
  const out = new Map<string, { packages: number; names: Set<string> }>();
  const add = (eco: string, names: string[]) => {
    let e = out.get(eco);
    if (!e) out.set(eco, (e = { packages: 0, names: new Set() }));
    e.packages++;
    for (const n of names) e.names.add(n);
  };
  for (const p of packages) {
    const eco = ECOSYSTEM_OF_PURL[p.type];
    if (eco && !(p.ownedBy && !STATICALLY_LINKED.has(p.type))) add(eco, [p.name]);
    else if (!p.ownedBy && cpeNamesOf(p).length) add(CPE_ECOSYSTEM, cpeNamesOf(p));
  }
  return out;
}

/** The `sources` entries (db status) that feed an ecosystem: `osv:<eco>`, or a feed named as its rows are. */
function feedsOf(db: DatabaseInfo, ecoBase: string, rowSources: string[]) {
  return (db.sources ?? []).filter(
    (s) => s.name === `osv:${ecoBase}` || (rowSources.includes(s.name) && s.name !== 'osv'),
  );
}

function entry(
  kind: CoverageEntry['kind'],
  name: string,
  packages: number,
  status: CoverageStatus,
  sources: string[],
  detail: string,
): CoverageEntry {
  return { kind, name, packages, status, sources, detail };
}

/** Stale or failed, else covered: what the feeds behind rows found for this part say. */
function freshness(
  db: DatabaseInfo,
  ecoBase: string,
  rowSources: string[],
  maxAgeDays: number,
): { status: CoverageStatus; detail?: string } {
  const feeds = feedsOf(db, ecoBase, rowSources);
  const failed = feeds.find((s) => s.status !== 'ok');
  if (failed)
    return {
      status: 'failed-source',
      detail: `the last update of ${failed.name} failed${failed.error ? ` (${failed.error})` : ''}`,
    };
  const now = Date.now();
  const ages = feeds.map((s) => (s.updatedAt ? (now - Date.parse(s.updatedAt)) / 86_400_000 : undefined));
  const age =
    ages.length && ages.every((a) => a !== undefined) ? Math.max(...(ages as number[])) : db.ageDays;
  if (age === undefined || age > maxAgeDays)
    return {
      status: 'stale',
      detail:
        age === undefined
          ? 'its advisories are of unknown age'
          : `its advisories are ${Math.floor(age)} days old (over ${maxAgeDays})`,
    };
  return { status: 'covered' };
}

/** The coverage of one inventory by one database (`db`: what databaseInfo says of it). */
export function coverageOf(
  store: VulnStore,
  os: OsInfo | undefined,
  packages: Package[],
  db: DatabaseInfo,
  maxAgeDays = 7,
): Coverage {
  const ecosystems: CoverageEntry[] = [];
  let osEntry: CoverageEntry | undefined;
  const osPkgs = packages.filter((p) => ['apk', 'deb', 'rpm'].includes(p.type));
  const target = osTarget(os);
  const osName = os ? `${os.id} ${os.version}` : 'unknown OS';
  if (!target) {
    if (osPkgs.length)
      osEntry = entry('os', osName, osPkgs.length, 'no-data', [], `no advisory feed covers ${osName}`);
  } else {
    const own = osPkgs.filter((p) => p.type === target.packageType);
    const mine = own.length;
    const keys = [
      ...new Set([
        ...own.map(target.keyOf),
        ...own.map((p) => target.sourceKeyOf?.(p)).filter((k): k is string => !!k),
      ]),
    ];
    // What the rows say depends on the release and the package keys only: images on one base share
    // it (the fleet re-match asks it for every patched image; the release test over each row was
    // most of that).
    const { held: anyRows, sources } = osSources(store, os!, target, keys);
    if (!anyRows)
      osEntry = entry(
        'os',
        osName,
        mine,
        'no-data',
        [],
        `the database holds no ${target.ecoBase} advisories`,
      );
    else if (!sources.length)
      osEntry = entry(
        'os',
        osName,
        mine,
        'no-data',
        [],
        `the database has ${target.ecoBase} advisories, but none for release ${os!.version}`,
      );
    else {
      const f = freshness(db, target.ecoBase, sources, maxAgeDays);
      osEntry = entry(
        'os',
        osName,
        mine,
        f.status,
        sources,
        f.detail ?? `${target.ecoBase} advisories from ${sources.join(', ')}`,
      );
    }
  }
  for (const [eco, { packages: n, names }] of [...languageEcosystems(packages)].sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const name = eco === CPE_ECOSYSTEM ? 'binaries (NVD CPE ranges)' : eco;
    // The sources of the image's own rows (the matcher's memo), and one more when those are none.
    const found = nameSources(store, eco, [...names]);
    const one = anySource(store, eco);
    const sources = [...new Set([...found, ...(one ? [one] : [])])].sort();
    if (!sources.length) {
      ecosystems.push(entry('ecosystem', name, n, 'no-data', [], `the database holds no ${name} advisories`));
      continue;
    }
    const f = freshness(db, eco, sources, maxAgeDays);
    ecosystems.push(
      entry('ecosystem', name, n, f.status, sources, f.detail ?? `advisories from ${sources.join(', ')}`),
    );
  }
  const all = [...(osEntry ? [osEntry] : []), ...ecosystems];
  return {
    complete: all.every((e) => e.status === 'covered'),
    ...(osEntry ? { os: osEntry } : {}),
    ecosystems,
  };
}

/** Every part of a coverage, the OS release first. */
export function coverageParts(c: Coverage | undefined): CoverageEntry[] {
  return c ? [...(c.os ? [c.os] : []), ...c.ecosystems] : [];
}

/** The parts a database does not cover, in one line ("alpine 3.16.9: no data (…); npm: stale (…)"); empty when covered. */
export function coverageGaps(c: Coverage | undefined): string {
  return gapLines(c).join('; ');
}

/** Each part a database does not cover with its reason ("alpine 3.16.9: no data (…)"); none when covered. */
export function gapLines(c: Coverage | undefined): string[] {
  if (!c || c.complete) return [];
  return coverageParts(c)
    .filter((e) => e.status !== 'covered')
    .map((e) => `${e.name}: ${e.status.replace('-', ' ')} (${e.detail})`);
}

/**
 * The grade as every view prints it: the letter, marked when the database did not cover the
 * whole image, so an A over an unmatched OS never reads like a pass.
 */
export function gradeLabel(grade: string, c: Coverage | undefined): string {
  return c && !c.complete ? `${grade}, not covered` : grade;
}

/** What a report says when it lists no vulnerability: never a plain "none" over parts nobody checked. */
export function noFindingsText(c: Coverage | undefined): string {
  return c && !c.complete
    ? 'No vulnerabilities found where the database has data; parts of the image are not covered (see above).'
    : 'No vulnerabilities found.';
}

/** The names of the parts not covered (what list views keep of a result's coverage). */
export function uncoveredParts(c: Coverage | undefined): string[] {
  return c
    ? coverageParts(c)
        .filter((e) => e.status !== 'covered')
        .map((e) => e.name)
    : [];
}
