import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from './paths.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Tests read layers cold: several count reads, downloads or errors per scan, and a scan must not
 * take another test's analysis from a shared cache. The analysis cache has a test of its own,
 * which turns it on (CUSTOMS_ANALYSIS_CACHE=on) in a folder of its own.
 */
export const TEST_ENV = { CUSTOMS_ANALYSIS_CACHE: 'off' };

/** Run the built CLI as a user would. */
export function customs(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    env: { ...TEST_ENV, ...process.env, ...opts.env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** Run the built CLI without blocking this process (needed when the test itself serves HTTP). */
export function customsAsync(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...TEST_ENV, ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Run the built CLI and track its peak resident memory (the kernel's own high-water mark, VmHWM,
 * read from /proc while it runs, so a short spike between two reads still counts). With `capMiB`
 * the process is killed once its resident memory passes the cap (`capped` is then true): a
 * memory cap that also keeps a runaway test from taking the machine down. `ms`: wall time.
 */
export function customsPeak(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; capMiB?: number } = {},
): Promise<CliResult & { peakMiB: number; capped: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...TEST_ENV, ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    let capped = false;
    const timer = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status) ?? /VmRSS:\s+(\d+) kB/.exec(status);
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
        if (opts.capMiB && peak > opts.capMiB && !capped) {
          capped = true;
          child.kill('SIGKILL');
        }
      } catch {
        /* exited */
      }
    }, 20);
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => {
      clearInterval(timer);
      resolve({ status, stdout, stderr, peakMiB: Math.round(peak), capped, ms: Date.now() - started });
    });
  });
}
