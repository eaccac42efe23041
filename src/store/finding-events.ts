import type { Finding, ScanResult } from '../model/scan.js';
import { now, type Db } from './db.js';

/** What changed between two results of an image (new, fixed, changed findings), kept per database version. */

const findingKey = (f: Finding) => `${f.id}\u0000${f.package.name}\u0000${f.package.version}`;

/**
 * Findings new, gone and changed between two results of one image (the first scan records
 * nothing). Changed: the same vulnerability of the same package version, now with another
 * severity, KEV listing, status or fixed version.
 */
export function findingChanges(
  before: Pick<ScanResult, 'findings'> | undefined,
  after: Pick<ScanResult, 'findings'>,
) {
  if (!before) return { introduced: [] as Finding[], fixed: [] as Finding[], changed: [] as Finding[] };
  const had = new Map(before.findings.map((f) => [findingKey(f), f]));
  const has = new Map(after.findings.map((f) => [findingKey(f), f]));
  const facts = (f: Finding) => [f.severity.level, !!f.kev, f.status, f.fixedVersion ?? ''].join('\u0000');
  return {
    introduced: [...has].filter(([k]) => !had.has(k)).map(([, f]) => f),
    fixed: [...had].filter(([k]) => !has.has(k)).map(([, f]) => f),
    changed: [...has].filter(([k, f]) => had.has(k) && facts(had.get(k)!) !== facts(f)).map(([, f]) => f),
  };
}

/** The `finding_events` rows of what one re-match changed for one image. */
export function findingEventRows(
  digest: string,
  dbVersion: string,
  changes: { introduced: Finding[]; fixed: Finding[]; changed?: Finding[] },
  at = now(),
) {
  return [
    ...changes.introduced.map((f) => ({ kind: 'new', f })),
    ...changes.fixed.map((f) => ({ kind: 'fixed', f })),
    ...(changes.changed ?? []).map((f) => ({ kind: 'changed', f })),
  ].map(({ kind, f }) => ({
    digest,
    db_version: dbVersion,
    kind,
    vulnerability: f.id,
    package: `${f.package.name}@${f.package.version}`,
    severity: f.severity.level,
    kev: f.kev ? 1 : 0,
    created_at: at,
  }));
}

export async function recordFindingEvents(
  db: Db,
  digest: string,
  dbVersion: string,
  changes: { introduced: Finding[]; fixed: Finding[]; changed?: Finding[] },
): Promise<void> {
  await insertFindingEvents(db, findingEventRows(digest, dbVersion, changes));
}

/** 1,000 rows a statement (8,000 parameters): the fleet re-match inserts a chunk's events at once. */
export async function insertFindingEvents(db: Db, rows: ReturnType<typeof findingEventRows>): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000)
    await db.k
      .insertInto('finding_events')
      .values(rows.slice(i, i + 1000))
      .execute();
}

export async function findingEvents(db: Db, digest: string, limit = 200) {
  return (
    await db.k
      .selectFrom('finding_events')
      .selectAll()
      .where('digest', '=', digest)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
  ).map((r) => ({
    kind: r.kind as 'new' | 'fixed' | 'changed',
    vulnerability: r.vulnerability,
    package: r.package,
    severity: r.severity,
    kev: !!r.kev,
    dbVersion: r.db_version,
    at: r.created_at,
  }));
}
