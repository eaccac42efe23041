// The scan session: one request in, one outcome out, for every command that scans (image, rootfs,
// fs, sbom-scan, compare, advise, policy check) and the server's scan and match jobs.
//
//   ScanRequest ─► runScan: database ─► scan ─► suppress (one ordered list) ─► show ─► verdict ─► ScanOutcome
//
// What is printed, and where, stays with the caller (cli/ prints, the jobs store).
import { existsSync } from 'node:fs';
import type { Inventory } from '../catalog/index.js';
import { CustomsError } from '../errors.js';
import type { ImageMetadata } from '../image/model.js';
import type { Coverage, ScanResult } from '../model/scan.js';
import { atLeast, type SeverityLevel } from '../model/severity.js';
import {
  goReachability,
  statedSuppressors,
  summaryOf,
  suppress,
  type ExceptionLike,
} from '../policy/suppress.js';
import type { VexInput } from '../policy/vex.js';
import { readSbom } from '../sbom/read.js';
import { DEFAULT_MAX_AGE_DAYS } from '../vulndb/staleness.js';
import { ensureDatabase } from './first-use.js';
import { matchInventory, scanImageRaw, type RawScan, type ScanOptions } from './scan.js';

/** What is scanned: an image target (dir: for folders), an SBOM file, or an inventory already read. */
export type ScanSource =
  { image: string } | { sbom: string } | { inventory: Inventory; metadata: ImageMetadata };

export interface ScanRequest extends ScanOptions {
  source: ScanSource;
  /** With no database yet, install one before scanning for vulnerabilities (the CLI's first use). */
  fetchDatabase?: { insecure?: boolean; say?: (line: string) => void };
  /**
   * Statements that suppress findings (none when absent: compare, the server's jobs), applied
   * after Go reachability in this order: the ignore
   * file (`ignorefile`, else ./.customsignore.yaml when present), each VEX document, the gate's
   * exceptions. `env` is the environment as named (a policy's own names too) for the ignore file.
   */
  suppress?: {
    ignorefile?: string;
    /** Files (read when applied) or documents read before the scan (URLs, signed VEX). */
    vex?: Array<string | VexInput>;
    env?: string;
    exceptions?: ExceptionLike[];
  };
  /** What to show: these severities only, fixed ones only. The shown summary describes what is left. */
  show?: { severity?: SeverityLevel[]; ignoreUnfixed?: boolean };
  /**
   * The gate: a shown finding, secret or misconfiguration (at or above `failOn` when given) fails
   * with `exitCode`; with `failOnStaleDb`, so does a stale database (`exitCode`, else 1).
   */
  gate?: { failOn?: SeverityLevel; exitCode?: number; failOnStaleDb?: boolean };
}

export interface ScanOutcome {
  /** The result to show: every suppressor applied, the show filters too; its summary describes it. */
  result: ScanResult;
  /**
   * The result as the scanner alone found it (Go reachability applied, none of the user's
   * statements, no filters): what `--report-to` uploads, the server applying its own exceptions.
   */
  scanned: ScanResult;
  /** What the database covers of the image (absent without the vuln scanner). */
  coverage?: Coverage;
  verdict: {
    /** Nothing failing and no stale database to fail on (whatever the exit code asked for). */
    passed: boolean;
    /** Shown findings, secrets and misconfigurations at or above the --fail-on level. */
    failing: number;
    /** Why the database fails the gate (--fail-on-stale-db), when it does. */
    staleDatabase?: string;
  };
  /** The process exit status the verdict asks for (0: passed, or no --exit-code to fail with). */
  exitStatus: number;
}

export { atLeast } from '../model/severity.js';

export async function runScan(req: ScanRequest): Promise<ScanOutcome> {
  const vuln = !req.scanners || req.scanners.has('vuln');
  if (req.fetchDatabase && vuln) await ensureDatabase(req.dbPath, req.fetchDatabase.say, req.fetchDatabase);
  const raw = await scanned(req);
  // Two stages of one list. First the facts read from the image itself (Go reachability): any copy
  // of this result says the same, so that stage is what is uploaded and stored. Then what this user
  // states (ignore file, VEX, exceptions), which a server replaces with its own.
  const base = suppress(raw.result, [goReachability(raw.unreachable)]);
  const stated = req.suppress ? statedSuppressors(req.suppress) : [];
  const all = stated.length ? suppress(base, stated) : base;
  const result = req.show ? shown(all, req.show) : all;
  const gate = req.gate ?? {};
  const failing = [
    ...result.findings.filter((f) => atLeast(f.severity.level, gate.failOn)),
    ...(result.secrets ?? []).filter((s) => atLeast(s.severity, gate.failOn)),
    ...(result.misconfigurations ?? []).filter((m) => atLeast(m.severity, gate.failOn)),
  ].length;
  const exitCode = gate.exitCode ?? 0;
  // A stale database passes every --fail-on silently (findings are missing, not absent): with
  // --fail-on-stale-db it fails the gate itself.
  const db = base.database;
  const staleDatabase =
    gate.failOnStaleDb && db.stale && vuln
      ? (db.notice ??
        `${Math.floor(db.ageDays ?? 0)} days old, over --db-max-age ${req.dbMaxAgeDays ?? DEFAULT_MAX_AGE_DAYS}`)
      : undefined;
  const exitStatus = staleDatabase ? exitCode || 1 : failing ? exitCode : 0;
  return {
    result,
    scanned: base,
    coverage: base.coverage,
    verdict: { passed: !staleDatabase && !failing, failing, staleDatabase },
    exitStatus,
  };
}

async function scanned(req: ScanRequest): Promise<RawScan> {
  const src = req.source;
  if ('image' in src) return scanImageRaw(src.image, req);
  if ('sbom' in src) {
    if (!existsSync(src.sbom)) throw new CustomsError('no such file or directory', src.sbom);
    const { image, inventory } = readSbom(src.sbom);
    return matchInventory(image, inventory, req);
  }
  return matchInventory(src.metadata, src.inventory, req);
}

/** Keep the findings the user asked about; the summary describes what is shown. */
function shown(r: ScanResult, o: NonNullable<ScanRequest['show']>): ScanResult {
  if (!o.severity && !o.ignoreUnfixed) return r;
  const findings = r.findings.filter(
    (f) =>
      (!o.severity || o.severity.includes(f.severity.level)) && (!o.ignoreUnfixed || f.status === 'fixed'),
  );
  return { ...r, findings, summary: summaryOf(r, findings) };
}
