import type { VersionScheme } from './scheme.js';

/** OSV's range events and ranges (https://ossf.github.io/osv-schema/#affectedranges-field). */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER' | 'GIT' | string;
  repo?: string;
  events: OsvEvent[];
}

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';

function eventOf(e: OsvEvent): { kind: Kind; version: string } | undefined {
  for (const kind of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
    const v = e[kind];
    if (typeof v === 'string') return { kind, version: v };
  }
  return undefined;
}

/** `0` as an introduced version means "from the very first version". */
const isZero = (e: { kind: Kind; version: string }) => e.kind === 'introduced' && e.version === '0';

/**
 * OSV range evaluation (ECOSYSTEM and SEMVER): events sorted by version, then walked; a version is
 * affected after an `introduced` it has reached, until a `fixed` it has reached or a
 * `last_affected` it has passed. `limit` only bounds GIT ranges and is ignored here.
 */
export function inRange(version: string, range: OsvRange, scheme: VersionScheme): boolean {
  if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') return false;
  const events = range.events
    .map(eventOf)
    .filter((e): e is { kind: Kind; version: string } => !!e && e.kind !== 'limit');
  events.sort((a, b) =>
    isZero(a) ? (isZero(b) ? 0 : -1) : isZero(b) ? 1 : scheme.compare(a.version, b.version),
  );
  let affected = false;
  for (const e of events) {
    if (e.kind === 'introduced') {
      if (isZero(e) || scheme.compare(version, e.version) >= 0) affected = true;
    } else if (e.kind === 'fixed') {
      if (scheme.compare(version, e.version) >= 0) affected = false;
    } else if (e.kind === 'last_affected') {
      if (scheme.compare(version, e.version) > 0) affected = false;
    }
  }
  return affected;
}

/**
 * Answers per (entry, scheme, version). The store hands out the same entry objects for as long as
 * it is open, and a fleet holds the same versions over and over: an advisory listing 300 PyPI
 * versions is then compared once per installed version, not once per inventory.
 */
const answers = new WeakMap<object, Map<string, boolean | string[]>>();
function remembered<T extends boolean | string[]>(entry: object, key: string, compute: () => T): T {
  let m = answers.get(entry);
  if (!m) answers.set(entry, (m = new Map()));
  let r = m.get(key) as T | undefined;
  if (r === undefined) {
    r = compute();
    if (m.size < 5_000) m.set(key, r);
  }
  return r;
}

/** Is this version affected by an OSV `affected` entry: in any range, or named in its version list? */
export function isAffected(
  version: string,
  entry: { ranges?: OsvRange[]; versions?: string[] },
  scheme: VersionScheme,
): boolean {
  return remembered(entry, `a\u0000${scheme.name}\u0000${version}`, () => {
    if (entry.versions?.length && listed(version, entry.versions, scheme)) return true;
    return (entry.ranges ?? []).some((r) => inRange(version, r, scheme));
  });
}

/**
 * Is `version` among `versions` (equal under the scheme, not only as text)? OSV entries of PyPI
 * and npm list hundreds of versions: they are sorted once per list and scheme and searched by
 * halving, instead of compared one by one for every installed version a fleet holds.
 */
const sortedLists = new WeakMap<string[], Map<string, string[]>>();
function listed(version: string, versions: string[], scheme: VersionScheme): boolean {
  if (versions.length < 8) return versions.some((v) => v === version || scheme.compare(v, version) === 0);
  let bySchemes = sortedLists.get(versions);
  if (!bySchemes) sortedLists.set(versions, (bySchemes = new Map()));
  let sorted = bySchemes.get(scheme.name);
  if (!sorted) bySchemes.set(scheme.name, (sorted = [...versions].sort((a, b) => scheme.compare(a, b))));
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = scheme.compare(sorted[mid], version);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * The fixed versions that would close this entry for an installed version: the `fixed` events
 * above it, lowest first (a backport branch's fix before the next major's).
 */
export function fixedVersionsAbove(
  version: string,
  entry: { ranges?: OsvRange[] },
  scheme: VersionScheme,
): string[] {
  return remembered(entry, `f\u0000${scheme.name}\u0000${version}`, () => {
    const fixes = new Set<string>();
    for (const r of entry.ranges ?? []) {
      if (!inRange(version, r, scheme)) continue;
      for (const e of r.events)
        if (typeof e.fixed === 'string' && scheme.compare(e.fixed, version) > 0) fixes.add(e.fixed);
    }
    return [...fixes].sort((a, b) => scheme.compare(a, b));
  }).slice();
}
