// The work behind `customs image`, `rootfs` and `sbom-scan`, loaded only when one of them runs.
import { resolve } from 'node:path';
import { CustomsError } from '../errors.js';
import { parseSize } from '../image/limits.js';
import { MAX_SECRET_MAX_FILE } from '../secrets/scan.js';
import { parsePlatform } from '../image/platform.js';
import { LEVELS, type SeverityLevel } from '../rank/severity.js';
import { scanFormats } from '../report/scan-formats.js';
import { summarize } from '../rank/risk.js';
import type { Environment, Exposure, ScanResult } from '../model/scan.js';
import { SCANNERS, scanImage, scanInventory, type Scanner } from '../scan/scan.js';
import { readSbom } from '../sbom/read.js';
import { defaultDbPath } from '../vulndb/paths.js';
import { DEFAULT_DB_REPOSITORY, dbRepositories, pullDatabase } from '../vulndb/install.js';
import { configuredSources } from '../vulndb/sources.js';
import { updateDatabase } from '../vulndb/update.js';
import { trustedKeys } from '../vulndb/signing.js';
import { VulnStore } from '../vulndb/store.js';
import { existsSync, rmSync } from 'node:fs';
import { applyIgnores, defaultIgnoreFile, loadIgnoreFile } from '../policy/ignore.js';
import { resolvePolicy } from '../policy/policy.js';
import { applyVex, loadVex } from '../policy/vex.js';
import { describeRemote, remoteOptions, type RemoteFlags } from './remote-options.js';
import { reportTarget, uploadReport, type ReportFlags } from './report-to.js';
import { checkOutput, writeOutput } from './output.js';

/**
 * --skip-dirs / --skip-files for source trees: a name matches that folder or file anywhere, a
 * path with a slash matches from the top of the tree; .git is always skipped.
 */
export function skipper(dirs?: string, files?: string): (path: string, isDir: boolean) => boolean {
  const list = (s?: string) =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim().replace(/^\.?\/+|\/+$/g, ''))
      .filter(Boolean);
  const d = ['.git', ...list(dirs)];
  const f = list(files);
  const hit = (path: string, names: string[]) =>
    names.some((n) =>
      n.includes('/') ? path === n || path.startsWith(`${n}/`) : path.split('/').pop() === n,
    );
  return (path, isDir) => hit(path, isDir ? d : f);
}

export interface ImageOptions extends RemoteFlags, ReportFlags {
  skipDirs?: string;
  skipFiles?: string;
  /** Undefined when not given (table, unless --output FORMAT=FILE reports go elsewhere). */
  format?: string;
  /** Files, FORMAT=FILE pairs or FORMAT (to standard output); repeatable. */
  output?: string[];
  severity?: string;
  ignoreUnfixed?: boolean;
  exitCode?: string;
  failOn?: string;
  failOnStaleDb?: boolean;
  dbMaxAge?: string;
  exposure: string;
  env: string;
  platform?: string;
  db?: string;
  maxLayerSize?: string;
  quiet?: boolean;
  ignorefile?: string;
  vex: string[];
  showSuppressed?: boolean;
  useAttestedSbom?: boolean;
  scanners?: string;
  goReachability?: string;
  secretMaxFileSize?: string;
}

/** `--secret-max-file-size`: a size (5M, 512K, 1048576), at most MAX_SECRET_MAX_FILE. */
export function secretMaxFileSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let n: number;
  try {
    n = parseSize(value);
  } catch {
    throw new CustomsError(`--secret-max-file-size: not a size: ${value} (e.g. 5M, 512K)`);
  }
  if (n < 1 || n > MAX_SECRET_MAX_FILE)
    throw new CustomsError(
      `--secret-max-file-size must be from 1 byte to ${MAX_SECRET_MAX_FILE / 1024 / 1024}M`,
    );
  return n;
}

function levels(list: string | undefined, flag = '--severity'): SeverityLevel[] | undefined {
  if (!list) return undefined;
  const out = list.split(',').map((s) => s.trim().toUpperCase());
  const bad = out.filter((l) => !LEVELS.includes(l as SeverityLevel));
  if (bad.length)
    throw new CustomsError(`${flag}: unknown level(s) ${bad.join(', ')}; use ${LEVELS.join(', ')}`);
  return out as SeverityLevel[];
}

function scanSbomFile(file: string, opts: Parameters<typeof scanInventory>[2]): ScanResult {
  if (!existsSync(file)) throw new CustomsError('no such file or directory', file);
  const { image, inventory } = readSbom(file);
  return scanInventory(image, inventory, opts);
}

/** Exceptions from the ignore file and VEX documents: suppressed findings move aside with their reason. */
export function applyExceptions(
  r: ScanResult,
  opts: { ignorefile?: string; vex?: string[]; env?: string },
): ScanResult {
  let findings = r.findings;
  const suppressed = [...r.suppressed];
  const warnings = [...r.warnings];
  const ignorefile = opts.ignorefile ?? defaultIgnoreFile();
  if (ignorefile) {
    if (!existsSync(ignorefile)) throw new CustomsError('no such file', ignorefile);
    const out = applyIgnores(findings, loadIgnoreFile(ignorefile), ignorefile, opts.env ?? r.context.env);
    findings = out.kept;
    suppressed.push(...out.suppressed);
    warnings.push(...out.warnings);
  }
  for (const file of opts.vex ?? []) {
    if (!existsSync(file)) throw new CustomsError('no such file', file);
    const out = applyVex(findings, loadVex(file), r.image);
    findings = out.kept;
    suppressed.push(...out.suppressed);
  }
  return { ...r, findings, suppressed, warnings };
}

/** Keep the findings the user asked about; the summary describes what is shown. */
export function filterFindings(
  r: ScanResult,
  opts: { severity?: SeverityLevel[]; ignoreUnfixed?: boolean },
): ScanResult {
  const findings = r.findings.filter(
    (f) =>
      (!opts.severity || opts.severity.includes(f.severity.level)) &&
      (!opts.ignoreUnfixed || f.status === 'fixed'),
  );
  return {
    ...r,
    findings,
    summary: summarize(findings, {
      osEndOfLife: !!r.os?.eol?.endOfLife,
      recognised: !!r.os || r.packages.length > 0,
    }),
  };
}

export async function run(
  target: string,
  opts: ImageOptions,
  fromSbom = false,
  sourceTree = false,
): Promise<void> {
  const targets = outputTargets(opts);
  if (!['internet', 'internal'].includes(opts.exposure))
    throw new CustomsError('--exposure must be internet or internal');
  checkEnv(opts.env);
  const report = reportTarget(opts);
  const severity = levels(opts.severity);
  const failOn = opts.failOn ? levels(opts.failOn, '--fail-on')![0] : undefined;
  const exitCode = opts.exitCode !== undefined ? Number(opts.exitCode) : failOn ? 1 : 0;
  if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)
    throw new CustomsError('--exit-code must be a number from 0 to 255');
  const dbMaxAgeDays = Number(opts.dbMaxAge ?? 7);
  if (!Number.isFinite(dbMaxAgeDays) || dbMaxAgeDays < 0)
    throw new CustomsError('--db-max-age must be a number of days');
  const platform = platformFlag(opts.platform);
  const limits = opts.maxLayerSize ? { maxLayerBytes: parseSize(opts.maxLayerSize) } : undefined;
  const secretMax = secretMaxFileSize(opts.secretMaxFileSize);
  const scanners = new Set(
    (opts.scanners ?? 'vuln,secret')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  ) as Set<Scanner>;
  const unknown = [...scanners].filter((s) => !SCANNERS.includes(s));
  if (unknown.length)
    throw new CustomsError(`--scanners: unknown ${unknown.join(', ')}; use ${SCANNERS.join(', ')}`);
  if (!['on', 'off'].includes(opts.goReachability ?? 'on'))
    throw new CustomsError('--go-reachability must be on or off');
  const dbPath = defaultDbPath(opts.db);
  if (scanners.has('vuln')) await ensureDatabase(dbPath, opts.quiet, opts);
  const scanOpts = {
    sourceTree: sourceTree ? { skip: skipper(opts.skipDirs, opts.skipFiles) } : undefined,
    dbPath,
    dbMaxAgeDays,
    platform,
    limits,
    exposure: opts.exposure as Exposure,
    env: rankingEnv(opts.env),
    ...(fromSbom || sourceTree ? {} : await remoteOptions(opts)),
    useAttestedSbom: opts.useAttestedSbom,
    scanners,
    goReachability: opts.goReachability !== 'off',
    secretMaxFileSize: secretMax,
  };
  const full = fromSbom ? scanSbomFile(target, scanOpts) : await scanImage(target, scanOpts);
  const result = filterFindings(applyExceptions(full, opts), { severity, ignoreUnfixed: opts.ignoreUnfixed });
  if (!opts.quiet) describeRemote(result.image);
  if (!opts.quiet) for (const w of result.warnings) process.stderr.write(`customs: warning: ${w}\n`);
  // One scan, every report asked for: the same result rendered per format.
  for (const t of targets) {
    const text = scanFormats[t.format](
      opts.showSuppressed || t.format !== 'table' ? result : { ...result, suppressed: [] },
      !t.file && process.stdout.isTTY === true && !process.env.NO_COLOR,
    );
    if (t.file) await writeOutput(t.file, text);
    else process.stdout.write(text);
  }
  if (report) {
    const at = await uploadReport(report, full, target);
    if (!opts.quiet) process.stderr.write(`customs: reported to ${report.url.origin}${at}\n`);
  }
  // The gate: any finding left after the filters (at or above --fail-on when given) fails the run.
  const atLeast = (l: SeverityLevel) => !failOn || LEVELS.indexOf(l) <= LEVELS.indexOf(failOn);
  const failing = [
    ...result.findings.filter((f) => atLeast(f.severity.level)),
    ...(result.secrets ?? []).filter((s) => atLeast(s.severity)),
    ...(result.misconfigurations ?? []).filter((m) => atLeast(m.severity)),
  ];
  if (exitCode && failing.length) process.exitCode = exitCode;
  // A stale database passes every --fail-on silently (findings are missing, not absent): with
  // --fail-on-stale-db it fails the gate itself.
  if (opts.failOnStaleDb && full.database.stale && scanners.has('vuln')) {
    process.stderr.write(
      `customs: the gate fails: the vulnerability database is stale (${full.database.notice ?? `${Math.floor(full.database.ageDays ?? 0)} days old, over --db-max-age ${dbMaxAgeDays}`})\n`,
    );
    process.exitCode = exitCode || 1;
  }
}

/**
 * Where the reports go. `--output FILE` (with `--format`) as before; `--output FORMAT=FILE`
 * (repeatable, Syft's convention) adds a report of that format; `--output FORMAT` writes that
 * format to standard output. A `--format` given explicitly that no `--output FILE` takes still
 * goes to standard output (`--format table --output html=r.html` prints the table); without
 * `--format`, FORMAT=FILE reports leave standard output empty. Every file is checked before the
 * scan starts.
 */
export function outputTargets(opts: {
  format?: string;
  output?: string[];
}): Array<{ format: string; file?: string }> {
  const known = (f: string) => Object.hasOwn(scanFormats, f);
  const format = opts.format ?? 'table';
  if (!known(format))
    throw new CustomsError(`unknown format "${format}"; use one of ${Object.keys(scanFormats).join(', ')}`);
  const list = opts.output ?? [];
  if (!list.length) return [{ format }];
  let formatTaken = false;
  const out = list.map((v) => {
    const m = /^([a-z]+)=(.+)$/.exec(v);
    if (m && known(m[1])) return { format: m[1], file: m[2] };
    if (m && !existsSync(v))
      throw new CustomsError(
        `--output ${v}: unknown format "${m[1]}"; use one of ${Object.keys(scanFormats).join(', ')}`,
      );
    if (known(v)) return { format: v };
    formatTaken = true;
    return { format, file: v };
  });
  if (opts.format !== undefined && !formatTaken) {
    if (out.some((t) => !t.file))
      throw new CustomsError(
        `--format ${opts.format} and --output ${out.find((t) => !t.file)!.format} both name what goes to standard output; give one`,
      );
    out.unshift({ format });
  }
  if (out.filter((t) => !t.file).length > 1)
    throw new CustomsError('--output: only one report can go to standard output; give the others a file');
  const files = out.filter((t) => t.file).map((t) => resolve(t.file!));
  if (new Set(files).size !== files.length)
    throw new CustomsError('--output: two reports name the same file');
  for (const t of out) if (t.file) checkOutput(t.file);
  return out;
}

const BUILT_IN_ENVS = ['production', 'staging', 'dev'];

/**
 * `--env`: the three built-in environments, or any the policy in force defines
 * (./customs-policy.yaml). Ranking knows the three; another name ranks as production, the
 * strictest, while exceptions and policies see the name as given.
 */
export function checkEnv(env: string): void {
  if (BUILT_IN_ENVS.includes(env)) return;
  const { policy, name } = resolvePolicy();
  if (!policy.environments[env])
    throw new CustomsError(
      `--env must be production, staging, dev or an environment of the policy (${name}: ${Object.keys(policy.environments).join(', ')})`,
    );
}

export const rankingEnv = (env: string): Environment =>
  (BUILT_IN_ENVS.includes(env) ? env : 'production') as Environment;

/** --platform, checked the same way by every command (a bad value is a user error, not a bug). */
export function platformFlag(value: string | undefined) {
  try {
    return value ? parsePlatform(value) : undefined;
  } catch (err) {
    throw new CustomsError(`--platform: ${(err as Error).message}`);
  }
}

/**
 * What every command that scans shares: the database (fetched on first use), platform, context
 * and registry access. An environment name a policy invents ranks as production.
 */
export async function scanContext(
  opts: RemoteFlags & {
    db?: string;
    platform?: string;
    exposure: string;
    env: string;
    quiet?: boolean;
    secretMaxFileSize?: string;
  },
) {
  const secretMax = secretMaxFileSize(opts.secretMaxFileSize);
  const dbPath = defaultDbPath(opts.db);
  await ensureDatabase(dbPath, opts.quiet, opts);
  return {
    dbPath,
    platform: platformFlag(opts.platform),
    exposure: opts.exposure as Exposure,
    env: rankingEnv(opts.env),
    secretMaxFileSize: secretMax,
    ...(await remoteOptions(opts)),
  };
}

/**
 * First use: with no database yet, pull the signed prebuilt one (CUSTOMS_DB_REPOSITORY or the
 * default repository; a few retries at most so that an offline machine answers soon); when
 * nothing can be fetched, say in one line how to get one. CUSTOMS_OFFLINE=1 skips the attempt.
 */
export async function ensureDatabase(
  dbPath: string,
  quiet?: boolean,
  flags: { insecure?: boolean } = {},
): Promise<void> {
  if (VulnStore.exists(dbPath)) return;
  const how = `no vulnerability database at ${dbPath}; run "customs db update" (online) or "customs db import PATH" (offline)`;
  if (process.env.CUSTOMS_OFFLINE === '1') throw new CustomsError(how);
  const sources = dbRepositories();
  if (!quiet)
    process.stderr.write(
      `customs: no vulnerability database yet; pulling it from ${sources[0]} (first use)…\n`,
    );
  try {
    const r = await pullDatabase(dbPath, sources, {
      keys: trustedKeys(),
      registry: { insecure: flags.insecure, timeoutMs: 15_000, retries: 1, backoffMs: 200 },
    });
    if (!quiet)
      process.stderr.write(
        `customs: database version ${r.version} installed (${(r.bytes / 1024 / 1024).toFixed(1)} MB)\n`,
      );
  } catch (err) {
    if (!(err instanceof CustomsError)) throw err;
    // The default repository answered but holds no artifact (not published there yet, or
    // private): build from the upstream feeds as before rather than leave a new user with nothing.
    // Offline (no answer at all) goes straight to the one-line advice.
    const reachedButEmpty =
      /manifest unknown|needs credentials|authentication failed|not a Customs database/.test(err.message);
    if (sources.length === 1 && sources[0] === DEFAULT_DB_REPOSITORY && reachedButEmpty) {
      if (!quiet)
        process.stderr.write(
          `customs: ${sources[0]} has no database to pull (${err.message}); building it from the upstream feeds instead…\n`,
        );
      const outcomes = await updateDatabase(dbPath, configuredSources(), {
        retries: 0,
        idleTimeoutMs: 15_000,
      }).catch(() => []);
      if (outcomes.some((o) => o.status !== 'failed') && VulnStore.exists(dbPath)) return;
      rmSync(dbPath, { force: true });
    }
    throw new CustomsError(`${how} (the download failed: ${err.message})`);
  }
}
