import { statSync } from 'node:fs';
import {
  catalogers,
  catalogImage,
  sourceTreeCatalogers,
  wantedBy,
  type Inventory,
} from '../catalog/index.js';
import type { ImageMetadata } from '../image/model.js';
import type { Limits } from '../image/limits.js';
import { openImage, type OpenOptions } from '../image/open.js';
import type { Platform } from '../image/platform.js';
import { matchLanguagePackages, matchOsPackages } from '../match/matcher.js';
import { riskOf, summarize } from '../rank/risk.js';
import { compareFindings } from '../rank/order.js';
import { goReachability, suppress, type UnreachableFinding } from '../policy/suppress.js';
import { databaseWarnings, DEFAULT_MAX_AGE_DAYS, staleness } from '../vulndb/staleness.js';
import { VERSION } from '../version.js';
import { reportTime } from '../report-time.js';
import { setStage } from '../stage.js';
import { CustomsError } from '../errors.js';
import { VulnStore } from '../vulndb/store.js';
import { attestedInventory, compareAttested } from '../sbom/attested.js';
import { collectSecrets, coverageWarning, secretProbe } from '../secrets/scan.js';
import { maskImageMetadata, metadataSecrets } from '../secrets/mask.js';
import { Redactions } from '../secrets/redact.js';
import { checkImageConfig } from '../lint/image-config.js';
import { buildFindings } from './findings.js';
import { coverageGaps, coverageOf } from './coverage.js';
import type {
  DatabaseInfo,
  Environment,
  Exposure,
  Finding,
  Scanner,
  ScanResult,
  ScanSummary,
} from '../model/scan.js';

// Moved below the scanner (rank/, vulndb/) so the store needs nothing from here; re-exported for
// the callers that know them from here.
export { compareFindings } from '../rank/order.js';
export { databaseWarnings } from '../vulndb/staleness.js';

export interface ScanOptions {
  dbPath: string;
  /** Days after which the database counts as stale (a warning; --fail-on-stale-db fails). */
  dbMaxAgeDays?: number;
  platform?: Platform;
  limits?: Partial<Limits>;
  exposure?: Exposure;
  env?: Environment;
  /** Scan a source tree (`customs fs`): lockfiles too, duplicates merged, these paths skipped. */
  sourceTree?: { skip: (path: string, isDir: boolean) => boolean };
  registry?: OpenOptions['registry'];
  layerCache?: OpenOptions['layerCache'];
  /** Trust the image's SBOM attestation instead of reading its layers. */
  useAttestedSbom?: boolean;
  /** What to look for: vulnerabilities, secrets, image-config checks (default: vuln and secret). */
  scanners?: Set<Scanner>;
  /** Go findings whose vulnerable functions are absent from the binary are not_affected (default on). */
  goReachability?: boolean;
  /** Files over this many bytes are not searched for secrets (counted and named instead). */
  secretMaxFileSize?: number;
}

export { SCANNERS, type Scanner } from '../model/scan.js';

/**
 * What the scanner found, before any suppressor ran: every matched finding (Go ones whose
 * functions are absent included) and the Go reachability verdicts. Its summary is not settled:
 * `suppress` (policy/suppress.ts) computes it once the findings are placed.
 */
export interface RawScan {
  result: ScanResult;
  unreachable: UnreachableFinding[];
}

/** A raw scan with Go reachability applied: what the scanner alone says (the server, re-matches). */
export const settled = (raw: RawScan): ScanResult => suppress(raw.result, [goReachability(raw.unreachable)]);

/** The main job: inventory an image, match it against the database, rank what was found. */
export async function scanImage(target: string, opts: ScanOptions): Promise<ScanResult> {
  return settled(await scanImageRaw(target, opts));
}

/** Match and rank an inventory, from an image or from an SBOM. */
export function scanInventory(metadata: ImageMetadata, inventory: Inventory, opts: ScanOptions): ScanResult {
  return settled(matchInventory(metadata, inventory, opts));
}

/** scanImage, suppressors not yet applied (scan/session.ts applies them all in one place). */
export async function scanImageRaw(target: string, opts: ScanOptions): Promise<RawScan> {
  const scanners = opts.scanners ?? new Set<Scanner>(['vuln', 'secret']);
  // A missing database is reported before the image is read.
  if (scanners.has('vuln')) VulnStore.openRead(opts.dbPath).close();
  const list = opts.sourceTree ? sourceTreeCatalogers : catalogers;
  const wants = wantedBy(list);
  if (scanners.has('secret')) wants.probes = [...(wants.probes ?? []), secretProbe(opts.secretMaxFileSize)];
  setStage('reading the image');
  const image = await openImage(target, {
    wants,
    platform: opts.platform,
    limits: opts.limits,
    skip: opts.sourceTree?.skip,
    registry: opts.registry,
    layerCache: opts.layerCache,
    useAttestedSbom: opts.useAttestedSbom,
  });
  setStage('cataloging packages');
  const attested = opts.useAttestedSbom ? attestedInventory(image) : undefined;
  const inventory = attested ?? (await catalogImage(image, list, !!opts.sourceTree));
  // A folder given as an image or root filesystem in which nothing is recognised is most likely
  // the wrong folder (a source tree belongs to `customs fs`): say so instead of grading it.
  if (image.metadata.kind === 'rootfs' && !opts.sourceTree && !inventory.os && !inventory.packages.length)
    throw new CustomsError(
      'nothing recognised: no operating system release file and no package database; for a project folder use "customs fs"',
      target,
    );
  if (!attested) compareAttested(image, inventory);
  setStage('matching vulnerabilities');
  // Without the vuln scanner: the inventory alone, no database needed.
  const raw: RawScan = scanners.has('vuln')
    ? matchInventory(image.metadata, inventory, opts)
    : { result: resultOf(image.metadata, inventory, opts, [], { path: opts.dbPath }), unreachable: [] };
  const result = raw.result;
  setStage('collecting secrets');
  // One set of secret values per scan, masked in every string of the result: every format, the
  // upload (--report-to) and the server's stored copy are made from this one object.
  const redactions = new Redactions();
  if (scanners.has('secret')) {
    const { secrets, coverage } = await collectSecrets(image, redactions, opts.secretMaxFileSize);
    result.secrets = secrets;
    result.secretCoverage = coverage;
    const w = coverageWarning(coverage);
    if (w) result.warnings.push(w);
  } else metadataSecrets(image.metadata, redactions);
  if (scanners.has('config')) result.misconfigurations = checkImageConfig(image.metadata);
  maskImageMetadata(image.metadata, redactions);
  redactions.apply(raw);
  return raw;
}

/** Placeholder until `suppress` settles the summary (a raw result is never shown as it is). */
const UNSETTLED: ScanSummary = summarize([], { osEndOfLife: false, recognised: false });

/** The scan result around an inventory and its (ranked) findings. */
function resultOf(
  metadata: ImageMetadata,
  inventory: Inventory,
  opts: ScanOptions,
  findings: Finding[],
  database: ScanResult['database'],
  warnings: string[] = [],
): ScanResult {
  const recognised = !!inventory.os || inventory.packages.length > 0;
  return {
    schemaVersion: 1,
    tool: { name: 'customs', version: VERSION },
    createdAt: reportTime().toISOString(),
    image: metadata,
    os: inventory.os,
    context: { exposure: opts.exposure ?? 'internet', env: opts.env ?? 'production' },
    database,
    packages: inventory.packages,
    findings,
    suppressed: [],
    summary: UNSETTLED,
    warnings: [
      ...metadata.warnings,
      ...inventory.warnings,
      ...warnings,
      ...(recognised
        ? []
        : [
            `nothing recognised in ${metadata.target}: no operating system release file, package database or lockfile`,
          ]),
    ],
  };
}

/** Past this age a database is named in every output format, whatever --db-max-age says. */
const NOTICE_DAYS = 30;

/** What a result says about its database: version, origin, sources and freshness. */
export function databaseInfo(
  store: VulnStore,
  path: string,
  maxAgeDays = DEFAULT_MAX_AGE_DAYS,
): DatabaseInfo {
  const sources = store.sources().map((s) => ({
    name: s.name,
    records: s.records,
    updatedAt: s.updatedAt,
    status: s.status,
    ...(s.error ? { error: s.error } : {}),
  }));
  const { builtAt, ageDays, expiry, failed, stale } = staleness((k) => store.meta(k), sources, maxAgeDays);
  const old = ageDays === undefined || ageDays > NOTICE_DAYS;
  const notice = [
    expiry.notice,
    old
      ? `the vulnerability database is ${ageDays === undefined ? 'of unknown age' : `${Math.floor(ageDays)} days old (version ${builtAt})`}: advisories published since are missing; run "customs db update"`
      : undefined,
    failed.length
      ? `the last update of ${failed.map((s) => s.name).join(', ')} failed${failed[0].error ? ` (${failed[0].error})` : ''}: ${failed.length === 1 ? 'its' : 'their'} advisories and severities may be missing or out of date`
      : undefined,
  ]
    .filter(Boolean)
    .join('; ');
  return {
    path,
    version: builtAt,
    builtAt,
    origin: store.meta('local.origin') ?? 'built here from feeds',
    ageDays: ageDays === undefined ? undefined : Math.round(ageDays * 10) / 10,
    stale,
    ...(expiry.expires ? { expires: expiry.expires, expired: expiry.expired } : {}),
    sources,
    ...(notice ? { notice } : {}),
  };
}

/**
 * The open database, kept between scans of one process (the server re-matches thousands of
 * inventories): reopened when the file was replaced (an update renames a new file into place).
 */
const cached = new Map<string, { ino: number; mtimeMs: number; size: number; store: VulnStore }>();
export function openStore(path: string): VulnStore {
  let st;
  try {
    st = statSync(path);
  } catch {
    return VulnStore.openRead(path); // the clear "no database" error
  }
  const c = cached.get(path);
  if (c && c.ino === st.ino && c.mtimeMs === st.mtimeMs && c.size === st.size) return c.store;
  c?.store.close();
  cached.delete(path);
  // Two at most: a database update compares the fleet's findings under the old and the new one.
  for (const [p, o] of cached) {
    if (cached.size < 2) break;
    o.store.close();
    cached.delete(p);
  }
  const store = VulnStore.openRead(path);
  cached.set(path, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, store });
  return store;
}

/** Let a database file go (the server's copy of the previous version, once compared). */
export function closeStore(path: string): void {
  cached.get(path)?.store.close();
  cached.delete(path);
}

/** scanInventory, suppressors not yet applied: the findings with the Go reachability verdicts beside. */
export function matchInventory(metadata: ImageMetadata, inventory: Inventory, opts: ScanOptions): RawScan {
  const store = openStore(opts.dbPath);
  {
    const exposure = opts.exposure ?? 'internet';
    const env = opts.env ?? 'production';
    const os = matchOsPackages(store, inventory.os, inventory.packages);
    const lang = matchLanguagePackages(store, inventory.packages, { goReachability: opts.goReachability });
    const findings = buildFindings(store, [...os.matches, ...lang.matches], os.notAffected).map((f) => ({
      ...f,
      risk: riskOf(f, exposure, env),
    }));
    // Go findings whose vulnerable functions the binary does not hold: found like any other, and
    // set aside by the first suppressor (goReachability) with the functions checked.
    const unreachable: UnreachableFinding[] = (lang.unreachable ?? []).flatMap((u) =>
      buildFindings(store, [u], new Map()).map((f) => ({
        finding: { ...f, risk: riskOf(f, exposure, env) },
        checked: u.checked,
      })),
    );
    findings.push(...unreachable.map((u) => u.finding));
    findings.sort(compareFindings);
    const db = databaseInfo(store, opts.dbPath, opts.dbMaxAgeDays);
    const coverage = coverageOf(store, inventory.os, inventory.packages, db, opts.dbMaxAgeDays);
    // Parts with no data at all are said once, like the matcher's own release warning.
    const unsaid = coverageGaps({
      ...coverage,
      os: coverage.os?.status === 'no-data' && !os.warnings.length ? coverage.os : undefined,
      ecosystems: coverage.ecosystems.filter((e) => e.status === 'no-data'),
    });
    const result = resultOf(metadata, inventory, opts, findings, db, [
      ...os.warnings,
      ...databaseWarnings(db),
      ...(unsaid
        ? [`the database does not cover part of this image, so its findings there are unknown: ${unsaid}`]
        : []),
    ]);
    result.coverage = coverage;
    return { result, unreachable };
  }
}
