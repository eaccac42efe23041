import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tallyOf, type Tally } from '../rank/risk.js';
import { imageRiskWords, riskiest, riskTop, type RiskTop } from '../rank/explain.js';
import { compareFindings } from '../rank/order.js';
import { databaseWarnings } from '../vulndb/staleness.js';
import type { Coverage, DatabaseInfo, Finding, ScanResult, ScanSummary } from '../model/scan.js';
import { gapLines, uncoveredParts } from '../scan/coverage.js';
import type { Db } from './db.js';

/**
 * How scan results are stored. A scan's result is either whole (gzip JSON without the package
 * list, which the inventory holds) or a patch over a whole one: the findings of the few packages a
 * database change touched, as references to finding sets. A patch is cumulative (always over a
 * whole result, never over another patch), so reading any result costs two rows and its sets.
 */
export type StoredResult = Omit<ScanResult, 'packages'>;

// Level 1: a re-match stores thousands of results at once; the best ratio is not worth 3× the time.
const gzipJson = (json: string): Buffer => gzipSync(Buffer.from(json), { level: 1 });
export const pack = (v: unknown): Buffer => gzipJson(JSON.stringify(v));
export const unpack = <T>(b: Buffer | Uint8Array): T => JSON.parse(gunzipSync(b).toString('utf8')) as T;

/** What a result's grade and counts are computed from, kept in its row (`scans.tally`). */
export interface ScanFacts extends Tally {
  osEndOfLife: boolean;
  recognised: boolean;
  env: string;
  exposure: string;
  /** The parts of the image the database did not cover (list views mark the grade). */
  uncovered?: string[];
  /** Each of those parts with its reason ("alpine 3.16.9: no data (…)"), for list views to say why. */
  gaps?: string[];
  /**
   * The riskiest finding with its risk in words and its package's key (a re-match knows whether it
   * touched it); absent on rows written before, and where a re-match left it unknown.
   */
  top?: RiskTop & { key: string };
  /** Findings set aside (ignore file, VEX, reachability): the risk's words say they are not counted. */
  suppressed?: number;
}

/** A stored scan's risk in words, the image page's text (rank/explain.ts), from its row alone. */
export const storedRiskWords = (facts: Partial<ScanFacts>): string =>
  imageRiskWords(facts.total ?? 0, facts.top, facts.suppressed ?? 0);

/** The riskiest of these findings as the facts keep it. */
export function topOf(findings: Finding[]): ScanFacts['top'] {
  const f = riskiest(findings);
  return f && { ...riskTop([f])!, key: findingPackageKey(f.package) };
}

export function factsOf(result: ScanResult): ScanFacts {
  const uncovered = uncoveredParts(result.coverage);
  const gaps = gapLines(result.coverage);
  const top = topOf(result.findings);
  return {
    ...tallyOf(result.findings),
    ...(uncovered.length ? { uncovered, gaps } : {}),
    ...(top ? { top } : {}),
    ...(result.suppressed?.length ? { suppressed: result.suppressed.length } : {}),
    osEndOfLife: !!result.os?.eol?.endOfLife,
    recognised: !!result.os || (result.packages?.length ?? 0) > 0,
    env: result.context?.env ?? 'production',
    exposure: result.context?.exposure ?? 'internet',
  };
}

/** The columns of a `scans` row that list views and filters read without opening the result. */
export function summaryColumns(summary: ScanSummary, facts: ScanFacts) {
  return {
    grade: summary.grade,
    risk: Math.round(facts.risk * 10) / 10,
    critical: summary.bySeverity.CRITICAL,
    high: summary.bySeverity.HIGH,
    medium: summary.bySeverity.MEDIUM,
    low: summary.bySeverity.LOW,
    unknown: summary.bySeverity.UNKNOWN,
    kev: summary.kev,
    fixable: summary.fixable,
    total: summary.total,
    tally: JSON.stringify(facts),
  };
}

/**
 * The findings (and findings set aside) of some packages under one database version and rank
 * context, stored once by content (`finding_sets`): thousands of images holding the same packages
 * share one row.
 */
export interface FindingSet {
  findings: Finding[];
  suppressed: NonNullable<ScanResult['suppressed']>;
}

/** A set as a patch names it: its content hash and the packages (by `findingPackageKey`) it covers. */
export interface SetRef {
  hash: string;
  keys: string[];
}

/** The findings of the packages its sets cover replace the base result's. */
export interface ResultPatch {
  patch: 2;
  sets: SetRef[];
  database: DatabaseInfo;
  createdAt: string;
  summary: ScanSummary;
  /** The coverage under the new database (a release's feed imported since covers it now). */
  coverage?: Coverage;
}

export const findingPackageKey = (p: { type: string; name: string; version: string }): string =>
  `${p.type}\u0000${p.name}\u0000${p.version}`;

/** A set's stored form and the hash it is stored under (`json`: the set already serialised). */
export function packSet(set: FindingSet, json = JSON.stringify(set)): { hash: string; data: Buffer } {
  return { hash: createHash('sha256').update(json).digest('hex'), data: gzipJson(json) };
}

export function applyPatch(
  base: StoredResult,
  patch: ResultPatch,
  sets: Map<string, FindingSet>,
): StoredResult {
  const replaced = new Set(patch.sets.flatMap((s) => s.keys));
  const keep = (f: Finding) => !replaced.has(findingPackageKey(f.package));
  const parts = patch.sets.map((r) => {
    const s = sets.get(r.hash);
    if (!s) throw new Error(`finding set ${r.hash} is missing`);
    return s;
  });
  // The base's own database notices give way to the new database's.
  const oldNotices = new Set(databaseWarnings(base.database));
  return {
    ...base,
    createdAt: patch.createdAt,
    database: patch.database,
    findings: [...base.findings.filter(keep), ...parts.flatMap((s) => s.findings)].sort(compareFindings),
    suppressed: [...(base.suppressed ?? []).filter(keep), ...parts.flatMap((s) => s.suppressed)],
    summary: patch.summary,
    ...(patch.coverage ? { coverage: patch.coverage } : {}),
    warnings: [...base.warnings.filter((w) => !oldNotices.has(w)), ...databaseWarnings(patch.database)],
  };
}

/** Stored finding sets by hash (those not in `known` already). */
export async function loadSets(
  db: Db,
  hashes: string[],
  known = new Map<string, FindingSet>(),
): Promise<Map<string, FindingSet>> {
  const want = [...new Set(hashes)].filter((h) => !known.has(h));
  for (let i = 0; i < want.length; i += 500) {
    const rows = await db.k
      .selectFrom('finding_sets')
      .select(['hash', 'data'])
      .where('hash', 'in', want.slice(i, i + 500))
      .execute();
    for (const r of rows) known.set(r.hash, unpack<FindingSet>(r.data));
  }
  return known;
}

/** A stored scan row's result, a patch applied over its base. */
export async function resultOfRow(
  db: Db,
  row: { result: Buffer | Uint8Array; base_id: number | null },
  sets?: Map<string, FindingSet>,
): Promise<StoredResult> {
  if (row.base_id === null || row.base_id === undefined) return unpack<StoredResult>(row.result);
  const base = await db.k
    .selectFrom('scans')
    .select('result')
    .where('id', '=', Number(row.base_id))
    .executeTakeFirstOrThrow();
  const patch = unpack<ResultPatch>(row.result);
  return applyPatch(
    unpack<StoredResult>(base.result),
    patch,
    await loadSets(
      db,
      patch.sets.map((s) => s.hash),
      sets,
    ),
  );
}

export async function readResult(db: Db, scanId: number): Promise<StoredResult | undefined> {
  const r = await db.k
    .selectFrom('scans')
    .select(['result', 'base_id'])
    .where('id', '=', scanId)
    .executeTakeFirst();
  return r ? resultOfRow(db, r) : undefined;
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
