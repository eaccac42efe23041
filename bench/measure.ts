import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Measured {
  seconds: number;
  /** Peak resident memory in MiB (GNU time reports KiB). */
  rssMiB?: number;
  ok: boolean;
}

/**
 * Wall time and peak RSS of a command (GNU time when present). Customs' per-layer analysis cache is
 * off unless `env` turns it on (CUSTOMS_ANALYSIS_CACHE: 'on'): a benchmark measures first scans.
 */
export function measure(cmd: string[], env: NodeJS.ProcessEnv = {}): Measured {
  const useTime = existsSync('/usr/bin/time');
  const t0 = process.hrtime.bigint();
  const opts = {
    encoding: 'utf8' as const,
    maxBuffer: 1 << 30,
    env: { ...process.env, CUSTOMS_ANALYSIS_CACHE: 'off', ...env },
  };
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-f', '%M', ...cmd], opts)
    : spawnSync(cmd[0], cmd.slice(1), opts);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss = useTime ? Number(r.stderr.trim().split('\n').pop()) / 1024 : undefined;
  if (r.status !== 0) process.stderr.write(r.stderr);
  return { seconds, rssMiB: rss && Number.isFinite(rss) ? rss : undefined, ok: r.status === 0 };
}

export const fmt = (m?: Measured): string =>
  m
    ? `${m.seconds.toFixed(2)} s${m.rssMiB ? `, peak RSS ${m.rssMiB.toFixed(0)} MiB` : ''}${m.ok ? '' : ' (FAILED)'}`
    : 'not measured';

/** `customs sbom TARGET` as CycloneDX to /dev/null: what the benchmarks time. */
export const sbomCmd = (cli: string, target: string, ...extra: string[]): string[] => [
  process.execPath,
  cli,
  'sbom',
  target,
  '--format',
  'cyclonedx',
  '--output',
  '/dev/null',
  ...extra,
];
