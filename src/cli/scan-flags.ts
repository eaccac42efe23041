// The flags the scanning commands share, declared and parsed here once: a flag means the same
// and fails the same way in `image`, `fs`, `sbom`, `compare`, `policy check`, `advise` and `db`.
// Light on purpose (types and small constants only): every command module loads it at start.
import type { Command } from 'commander';
import { CustomsError } from '../errors.js';
import { parseSize } from '../image/limits.js';
import { parsePlatform } from '../image/platform.js';
import { SCANNERS, type Exposure, type Scanner } from '../model/scan.js';
import { LEVELS, type SeverityLevel } from '../model/severity.js';
import { MAX_SECRET_MAX_FILE } from '../model/secrets.js';
import { DEFAULT_MAX_AGE_DAYS } from '../vulndb/staleness.js';

/** `--platform`: the option, and its parse (a bad value is a user error, not a bug). */
export function addPlatformOption(
  cmd: Command,
  help = 'platform to pick from a multi-platform image',
): Command {
  return cmd.option('--platform <os/arch[/variant]>', help);
}

export function platformFlag(value: string | undefined) {
  try {
    return value ? parsePlatform(value) : undefined;
  } catch (err) {
    throw new CustomsError(`--platform: ${(err as Error).message}`);
  }
}

/** `--severity` (and any flag naming levels): a comma-separated list of CRITICAL, HIGH, … */
export function levelsFlag(list: string | undefined, flag = '--severity'): SeverityLevel[] | undefined {
  if (!list) return undefined;
  const out = list.split(',').map((s) => s.trim().toUpperCase());
  const bad = out.filter((l) => !LEVELS.includes(l as SeverityLevel));
  if (bad.length)
    throw new CustomsError(`${flag}: unknown level(s) ${bad.join(', ')}; use ${LEVELS.join(', ')}`);
  return out as SeverityLevel[];
}

/**
 * `--fail-on` and `--exit-code`, as every gating command reads them: --fail-on LEVEL fails only
 * for that severity or worse, exit 1 unless --exit-code says otherwise; --exit-code alone fails
 * for anything. `defaultExitCode` is the status without either (policy check fails with 1).
 */
export function addGateOptions(
  cmd: Command,
  help: { exitCode: string; failOn: string; exitCodeDefault?: string },
): Command {
  return cmd
    .option('--exit-code <n>', help.exitCode, help.exitCodeDefault)
    .option('--fail-on <level>', help.failOn);
}

export function gateFlags(opts: { failOn?: string; exitCode?: string }): {
  failOn?: SeverityLevel;
  exitCode: number;
} {
  const failOn = opts.failOn ? levelsFlag(opts.failOn, '--fail-on')![0] : undefined;
  const exitCode = opts.exitCode !== undefined ? Number(opts.exitCode) : failOn ? 1 : 0;
  if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)
    throw new CustomsError('--exit-code must be a number from 0 to 255');
  return { failOn, exitCode };
}

/** `--timeout` (and any flag of seconds): a positive number of seconds. */
export function secondsFlag(value: string | undefined, flag = '--timeout', fallback = 30): number {
  const n = Number(value ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new CustomsError(`${flag} must be a positive number of seconds`);
  return n;
}

/** `--max-layer-size`: the decompression-bomb guard, a size (16G, 512M). */
export function maxLayerSizeFlag(value: string | undefined): { maxLayerBytes: number } | undefined {
  if (!value) return undefined;
  try {
    return { maxLayerBytes: parseSize(value) };
  } catch (err) {
    throw new CustomsError(`--max-layer-size: ${(err as Error).message}`);
  }
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

/** `--db-max-age`: days after which the database is stale (vulndb/staleness.ts). */
export function dbMaxAgeFlag(value: string | undefined): number {
  const days = Number(value ?? DEFAULT_MAX_AGE_DAYS);
  if (!Number.isFinite(days) || days < 0) throw new CustomsError('--db-max-age must be a number of days');
  return days;
}

/** `--scanners`: vuln, secret, config. */
export function scannersFlag(value: string | undefined): Set<Scanner> {
  const scanners = new Set(
    (value ?? 'vuln,secret')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  ) as Set<Scanner>;
  const unknown = [...scanners].filter((s) => !SCANNERS.includes(s));
  if (unknown.length)
    throw new CustomsError(`--scanners: unknown ${unknown.join(', ')}; use ${SCANNERS.join(', ')}`);
  return scanners;
}

/** `--go-reachability on|off`. */
export function goReachabilityFlag(value: string | undefined): boolean {
  if (!['on', 'off'].includes(value ?? 'on')) throw new CustomsError('--go-reachability must be on or off');
  return value !== 'off';
}

/** `--exposure internet|internal`. */
export function exposureFlag(value: string): Exposure {
  if (!['internet', 'internal'].includes(value))
    throw new CustomsError('--exposure must be internet or internal');
  return value as Exposure;
}

/** What addScanContextOptions and addExceptionOptions add. */
export interface ScanContextFlags {
  db?: string;
  platform?: string;
  exposure: string;
  secretMaxFileSize?: string;
  ignorefile?: string;
  vex: string[];
  vexKey: string[];
}

/** Options of every command that scans for vulnerabilities: database, platform, context. */
export function addScanContextOptions(cmd: Command): Command {
  return addPlatformOption(
    cmd.option('--db <path>', 'vulnerability database (default: $CUSTOMS_DB or the user cache folder)'),
  )
    .option(
      '--exposure <where>',
      'internet or internal: where the image runs (changes the ranking)',
      'internet',
    )
    .option(
      '--secret-max-file-size <size>',
      'files larger than this are not searched for secrets, only counted and named in a warning (default 5M, at most 256M)',
    );
}

/** Exceptions: the ignore file and VEX documents. */
export function addExceptionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--ignorefile <file>',
      'exceptions with reasons and expiry (default: ./.customsignore.yaml when present)',
    )
    .option(
      '--vex <file-or-url>',
      'an OpenVEX or CycloneDX VEX document, a file or an http(s) URL (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option(
      '--vex-key <pem>',
      "every --vex must be a DSSE envelope signed by this public key (e.g. the server's, GET /api/v1/signing-key) and about the image scanned (repeatable)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    );
}
