// The work behind `customs image`, `rootfs`, `fs` and `sbom-scan`, loaded only when one of them
// runs: the flags read into a ScanRequest, the session run (scan/session.ts), the result printed.
import { vexInputs } from './vex-input.js';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { CustomsError } from '../errors.js';
import { scanFormats } from '../report/scan-formats.js';
import { scanTable } from '../report/scan-table.js';
import { runScan } from '../scan/session.js';
import { describeRemote, type RemoteFlags } from './remote-options.js';
import { attestScan, checkAttestFlags, type AttestFlags } from './attest.js';
import { reportTarget, uploadReport, type ReportFlags } from './report-to.js';
import { checkOutput, writeOutput } from './output.js';
import { checkEnv, scanContext } from './scan-context.js';
import {
  dbMaxAgeFlag,
  gateFlags,
  goReachabilityFlag,
  levelsFlag,
  maxLayerSizeFlag,
  scannersFlag,
} from './scan-flags.js';

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

export interface ImageOptions extends RemoteFlags, ReportFlags, AttestFlags {
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
  vexKey: string[];
  showSuppressed?: boolean;
  explain?: boolean;
  useAttestedSbom?: boolean;
  scanners?: string;
  goReachability?: string;
  secretMaxFileSize?: string;
}

export async function run(
  target: string,
  opts: ImageOptions,
  fromSbom = false,
  sourceTree = false,
): Promise<void> {
  // Every flag is checked before any work is done (the order decides which error a bad run shows).
  const targets = outputTargets(opts);
  checkEnv(opts.env);
  checkAttestFlags(opts, target);
  const report = reportTarget(opts);
  const severity = levelsFlag(opts.severity);
  const { failOn, exitCode } = gateFlags(opts);
  const dbMaxAgeDays = dbMaxAgeFlag(opts.dbMaxAge);
  const limits = maxLayerSizeFlag(opts.maxLayerSize);
  const scanners = scannersFlag(opts.scanners);
  const goReachability = goReachabilityFlag(opts.goReachability);
  const outcome = await runScan({
    ...(await scanContext(opts, !fromSbom && !sourceTree)),
    source: fromSbom ? { sbom: target } : { image: target },
    sourceTree: sourceTree ? { skip: skipper(opts.skipDirs, opts.skipFiles) } : undefined,
    dbMaxAgeDays,
    limits,
    useAttestedSbom: opts.useAttestedSbom,
    scanners,
    goReachability,
    suppress: { ignorefile: opts.ignorefile, vex: await vexInputs(opts.vex, opts.vexKey), env: opts.env },
    show: { severity, ignoreUnfixed: opts.ignoreUnfixed },
    gate: { failOn, exitCode, failOnStaleDb: opts.failOnStaleDb },
  });
  const { result } = outcome;
  if (!opts.quiet) describeRemote(result.image);
  if (!opts.quiet) for (const w of result.warnings) process.stderr.write(`customs: warning: ${w}\n`);
  // One scan, every report asked for: the same result rendered per format.
  for (const t of targets) {
    const shown = opts.showSuppressed || t.format !== 'table' ? result : { ...result, suppressed: [] };
    const tty = !t.file && process.stdout.isTTY === true && !process.env.NO_COLOR;
    const text =
      t.format === 'table' && opts.explain ? scanTable(shown, tty, true) : scanFormats[t.format](shown, tty);
    if (t.file) await writeOutput(t.file, text);
    else process.stdout.write(text);
  }
  if (report) {
    const at = await uploadReport(report, outcome.scanned, target);
    if (!opts.quiet) process.stderr.write(`customs: reported to ${report.url.origin}${at}\n`);
  }
  if (opts.attest) {
    // The signed scan carries what the gate judged (exceptions and filters applied).
    const at = await attestScan(result, target, opts);
    if (!opts.quiet) process.stderr.write(`customs: signed scan attached at ${at}\n`);
  }
  if (outcome.verdict.staleDatabase)
    process.stderr.write(
      `customs: the gate fails: the vulnerability database is stale (${outcome.verdict.staleDatabase})\n`,
    );
  if (outcome.exitStatus) process.exitCode = outcome.exitStatus;
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
