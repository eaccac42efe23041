import type { Finding } from '../model/scan.js';
import type { Db } from './db.js';
import { resultOfRow } from './results.js';

/** The finding index: each digest's newest findings by every id they go by (search by CVE, GHSA…). */

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
