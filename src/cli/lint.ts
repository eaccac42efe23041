import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { CustomsError } from '../errors.js';
import { DEFAULT_TRUSTED, lintDockerfile } from '../lint/dockerfile.js';
import { atLeast } from '../model/severity.js';
import { lintFormats } from '../report/lint-formats.js';
import { readUserFile } from '../user-file.js';
import { writeOutput } from './output.js';
import { addGateOptions, gateFlags } from './scan-flags.js';

interface LintOptions {
  format: string;
  output?: string;
  trusted?: string;
  exitCode?: string;
  failOn?: string;
}

export function registerLint(program: Command): void {
  addGateOptions(
    program
      .command('lint')
      .description('check a Dockerfile against best practices (base images, users, secrets, caches, …)')
      .argument('[dockerfile]', 'the Dockerfile', 'Dockerfile')
      .option('-f, --format <format>', `output format: ${Object.keys(lintFormats).join(', ')}`, 'table')
      .option('-o, --output <file>', 'write to a file instead of standard output')
      .option(
        '--trusted <prefixes>',
        'comma-separated registries/prefixes trusted for base images (added to the defaults)',
      ),
    {
      exitCode: 'exit with this status when findings remain (at or above --fail-on)',
      failOn: 'only findings of this severity or worse fail the run',
    },
  ).action(async (file: string, opts: LintOptions) => {
    const write = lintFormats[opts.format];
    if (!write)
      throw new CustomsError(
        `unknown format "${opts.format}"; use one of ${Object.keys(lintFormats).join(', ')}`,
      );
    if (!existsSync(file)) throw new CustomsError('no such file', file);
    const { failOn, exitCode } = gateFlags(opts);
    const trusted = [
      ...DEFAULT_TRUSTED,
      ...(opts.trusted ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ];
    let findings;
    try {
      findings = lintDockerfile(readUserFile(file), {
        trusted,
        hasDockerignore: existsSync(join(dirname(file), '.dockerignore')),
      });
    } catch (err) {
      throw new CustomsError((err as Error).message, file);
    }
    const text = write(
      { file, findings },
      !opts.output && process.stdout.isTTY === true && !process.env.NO_COLOR,
    );
    if (opts.output) await writeOutput(opts.output, text);
    else process.stdout.write(text);
    const failing = findings.filter((f) => atLeast(f.severity, failOn));
    if (exitCode && failing.length) process.exitCode = exitCode;
  });
}
