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

/** Run the built CLI and sample its resident memory from /proc while it runs (peak in MiB). */
export function customsPeak(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult & { peakMiB: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...TEST_ENV, ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    const timer = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        /* exited */
      }
    }, 25);
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => {
      clearInterval(timer);
      resolve({ status, stdout, stderr, peakMiB: Math.round(peak) });
    });
  });
}
