import type { Finding, ScanResult } from '../scan/model.js';
import { lookupKeys } from '../match/keys.js';
import { now, type Db } from './db.js';
import { loadInventory, type StoredInventory } from './images.js';
import { resultOfRow } from './results.js';

/** What the server watches: which packages each inventory holds, what runs where, what changed. */

export async function indexInventory(db: Db, digest: string, inv: StoredInventory): Promise<number> {
  const versions = [
    ...new Map(
      inv.packages.map((p) => [
        `${p.name}\u0000${p.version}`,
        { digest, name: p.name, version: p.version ?? '', type: p.type },
      ]),
    ).values(),
  ];
  await db.k.deleteFrom('package_versions').where('digest', '=', digest).execute();
  for (let i = 0; i < versions.length; i += 500) {
    await db.k
      .insertInto('package_versions')
      .values(versions.slice(i, i + 500))
      .execute();
    await letOthersWrite(db, i);
  }
  const keys = lookupKeys(inv.os, inv.packages);
  for (let i = 0; i < keys.length; i += 500) {
    await letOthersWrite(db, i);
    await db.k
      .insertInto('package_index')
      .values(keys.slice(i, i + 500).map((k) => ({ ...k, digest })))
      .onConflict((oc) => oc.columns(['ecosystem', 'name', 'digest']).doNothing())
      .execute();
  }
  return keys.length;
}

/**
 * SQLite has one writer at a time, and a writer that waits (the server's event loop claiming a job)
 * sleeps in growing steps: back-to-back chunks of a 200k-package index kept it waiting for seconds.
 * A pause every few chunks lets it in.
 */
async function letOthersWrite(db: Db, i: number): Promise<void> {
  if (db.engine === 'sqlite' && i > 0 && i % 2000 === 0) await new Promise((r) => setTimeout(r, 5));
}

/** Inventories stored before the indexes existed are indexed once, at start. */
export async function backfillPackageIndex(db: Db): Promise<number> {
  const missing = await db.k
    .selectFrom('inventories')
    .select('digest')
    .where((eb) =>
      eb.or([
        eb('digest', 'not in', db.k.selectFrom('package_index').select('digest').distinct()),
        eb('digest', 'not in', db.k.selectFrom('package_versions').select('digest').distinct()),
      ]),
    )
    .execute();
  for (const { digest } of missing) {
    const inv = await loadInventory(db, digest);
    if (inv) await indexInventory(db, digest, inv);
  }
  return missing.length;
}

/** The stored inventories holding any of these (ecosystem, name) pairs. */
export async function digestsFor(
  db: Db,
  keys: Array<{ ecosystem: string; name: string }>,
): Promise<string[]> {
  const out = new Set<string>();
  for (let i = 0; i < keys.length; i += 300) {
    const chunk = keys.slice(i, i + 300);
    const rows = await db.k
      .selectFrom('package_index')
      .select('digest')
      .distinct()
      .where((eb) =>
        eb(
          eb.refTuple('ecosystem', 'name'),
          'in',
          chunk.map((k) => eb.tuple(k.ecosystem, k.name)),
        ),
      )
      .execute();
    for (const r of rows) out.add(r.digest);
  }
  return [...out];
}

export async function allInventoryDigests(db: Db): Promise<string[]> {
  return (await db.k.selectFrom('inventories').select('digest').execute()).map((r) => r.digest);
}

export async function recordDbVersion(
  db: Db,
  v: {
    version: string;
    origin: string;
    mode: string;
    bytes: number;
    changedPackages: number;
    rescans: number;
  },
): Promise<void> {
  await db.k
    .insertInto('db_versions')
    .values({
      version: v.version,
      origin: v.origin,
      mode: v.mode,
      bytes: v.bytes,
      changed_packages: v.changedPackages,
      rescans: v.rescans,
      installed_at: now(),
    })
    .execute();
}

export async function dbVersions(db: Db, limit = 20) {
  return (await db.k.selectFrom('db_versions').selectAll().orderBy('id', 'desc').limit(limit).execute()).map(
    (r) => ({
      version: r.version,
      origin: r.origin,
      mode: r.mode,
      bytes: Number(r.bytes),
      changedPackages: Number(r.changed_packages),
      rescans: Number(r.rescans),
      installedAt: r.installed_at,
    }),
  );
}

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

/** The scan before `scanId` of this digest, as a result (findings only are needed). */
export async function previousResult(
  db: Db,
  digest: string,
  scanId: number,
): Promise<ScanResult | undefined> {
  const r = await db.k
    .selectFrom('scans')
    .select(['result', 'base_id'])
    .where('digest', '=', digest)
    .where('id', '<', scanId)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return r ? ((await resultOfRow(db, r)) as ScanResult) : undefined;
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

export async function insertFindingEvents(db: Db, rows: ReturnType<typeof findingEventRows>): Promise<void> {
  for (let i = 0; i < rows.length; i += 200)
    await db.k
      .insertInto('finding_events')
      .values(rows.slice(i, i + 200))
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

type IndexRow = { digest: string; vulnerability: string; package: string; version: string; severity: string };

/** A digest's `finding_index` rows for these findings, one per id they go by (CVE, GHSA…). */
function findingIndexRows(digest: string, findings: Finding[]): Map<string, IndexRow> {
  return new Map(
    findings.flatMap((f) =>
      [...new Set([f.id, ...f.aliases])].map((vulnerability) => {
        const row = {
          digest,
          vulnerability,
          package: f.package.name,
          version: f.package.version,
          severity: f.severity.level,
        };
        return [[vulnerability, row.package, row.version, row.severity].join('\u0000'), row] as const;
      }),
    ),
  );
}

/** The index rows to delete and to insert when a digest's findings go from `before` to `after`. */
export function findingIndexChanges(
  digest: string,
  before: Finding[],
  after: Finding[],
): { gone: IndexRow[]; added: IndexRow[] } {
  const had = findingIndexRows(digest, before);
  const has = findingIndexRows(digest, after);
  return {
    gone: [...had].filter(([k]) => !has.has(k)).map(([, r]) => r),
    added: [...has].filter(([k]) => !had.has(k)).map(([, r]) => r),
  };
}

/**
 * The findings of a digest's newest scan, by every id they go by (search by CVE, GHSA…). Given the
 * findings already indexed for it (`before`), only the rows that differ are deleted and inserted.
 */
export async function indexFindings(
  db: Db,
  digest: string,
  findings: Finding[],
  before?: Finding[],
): Promise<void> {
  let rows = [...findingIndexRows(digest, findings).values()];
  if (before) {
    const { gone, added } = findingIndexChanges(digest, before, findings);
    rows = added;
    for (const r of gone)
      await db.k
        .deleteFrom('finding_index')
        .where('digest', '=', digest)
        .where('vulnerability', '=', r.vulnerability)
        .where('package', '=', r.package)
        .where('version', '=', r.version)
        .where('severity', '=', r.severity)
        .execute();
  } else await db.k.deleteFrom('finding_index').where('digest', '=', digest).execute();
  for (let i = 0; i < rows.length; i += 500)
    await db.k
      .insertInto('finding_index')
      .values(rows.slice(i, i + 500))
      .execute();
}

/** Scans stored before the finding index existed are indexed once, at start. */
export async function backfillFindingIndex(db: Db): Promise<number> {
  const missing = await db.k
    .selectFrom('images')
    .innerJoin('scans', 'scans.id', 'images.latest_scan_id')
    .select(['scans.digest', 'scans.result', 'scans.base_id'])
    .where('scans.digest', 'not in', db.k.selectFrom('finding_index').select('digest').distinct())
    .where('scans.total', '>', 0)
    .execute();
  const seen = new Set<string>();
  for (const m of missing) {
    if (seen.has(m.digest)) continue;
    seen.add(m.digest);
    await indexFindings(db, m.digest, (await resultOfRow(db, m)).findings);
  }
  return seen.size;
}
