import { signedExpiry } from '../vulndb/freshness.js';
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
import { LEVELS } from '../rank/severity.js';
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
import type { DatabaseInfo, Environment, Exposure, Finding, ScanResult } from '../model/scan.js';

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

export type Scanner = 'vuln' | 'secret' | 'config';
export const SCANNERS: Scanner[] = ['vuln', 'secret', 'config'];

/** The main job: inventory an image, match it against the database, rank what was found. */
export async function scanImage(target: string, opts: ScanOptions): Promise<ScanResult> {
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
  const result = scanners.has('vuln')
    ? scanInventory(image.metadata, inventory, opts)
    : resultOf(image.metadata, inventory, opts, [], { path: opts.dbPath });
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
  redactions.apply(result);
  return result;
}

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
    summary: summarize(findings, { osEndOfLife: !!inventory.os?.eol?.endOfLife, recognised }),
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
export function databaseInfo(store: VulnStore, path: string, maxAgeDays = 7): DatabaseInfo {
  const builtAt = store.meta('built_at');
  const ageDays = builtAt ? Math.max(0, (Date.now() - Date.parse(builtAt)) / 86_400_000) : undefined;
  const sources = store.sources().map((s) => ({
    name: s.name,
    records: s.records,
    updatedAt: s.updatedAt,
    status: s.status,
    ...(s.error ? { error: s.error } : {}),
  }));
  const failed = sources.filter((s) => s.status !== 'ok');
  const old = ageDays === undefined || ageDays > NOTICE_DAYS;
  const expiry = signedExpiry((k) => store.meta(k));
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
    stale: ageDays === undefined || ageDays > maxAgeDays || failed.length > 0 || expiry.expired,
    ...(expiry.expires ? { expires: expiry.expires, expired: expiry.expired } : {}),
    sources,
    ...(notice ? { notice } : {}),
  };
}

export function databaseWarnings(db: DatabaseInfo): string[] {
  if (db.notice) return [db.notice];
  if (db.stale)
    return [
      `the vulnerability database is ${Math.floor(db.ageDays ?? 0)} days old (version ${db.version}); run "customs db update"`,
    ];
  return [];
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

/** Worst first: malware, then risk, then severity, then id, so the order is stable. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    Number(b.kind === 'malicious') - Number(a.kind === 'malicious') ||
    b.risk.score - a.risk.score ||
    LEVELS.indexOf(a.severity.level) - LEVELS.indexOf(b.severity.level) ||
    a.id.localeCompare(b.id) ||
    a.package.name.localeCompare(b.package.name)
  );
}

/** Match and rank an inventory, from an image or from an SBOM. */
export function scanInventory(metadata: ImageMetadata, inventory: Inventory, opts: ScanOptions): ScanResult {
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
    // Go findings whose vulnerable functions the binary does not hold: set aside as VEX would,
    // with the functions checked (--show-suppressed lists them; --go-reachability off keeps them).
    const unreachable: ScanResult['suppressed'] = [];
    for (const u of lang.unreachable ?? []) {
      for (const f of buildFindings(store, [u], new Map())) {
        const shown =
          u.checked.slice(0, 8).join(', ') + (u.checked.length > 8 ? `, … (${u.checked.length} in all)` : '');
        unreachable.push({
          ...f,
          risk: riskOf(f, exposure, env),
          vex: { status: 'not_affected', detail: 'vulnerable_code_not_present', source: 'go symbol table' },
          suppression: {
            by: 'reachability',
            reason: `vulnerable_code_not_present: none of ${shown} is in the binary`,
            source: `${f.package.path ?? 'binary'} (Go symbol table)`,
            status: 'not_affected',
            justification: 'vulnerable_code_not_present',
          },
        });
      }
    }
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
    result.suppressed = unreachable;
    return result;
  }
}
