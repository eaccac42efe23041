import type { Command } from 'commander';
import { comparisonMarkdown, comparisonTable, compareScans, type Comparison } from '../compare/compare.js';
import { CustomsError } from '../errors.js';
import { LEVELS, type SeverityLevel } from '../rank/severity.js';
import { scanImage } from '../scan/scan.js';
import { scanContext } from './image-run.js';
import {
  addRemoteOptions,
  addScanContextOptions,
  formatOf,
  type RemoteFlags,
  type ScanContextFlags,
} from './remote-options.js';
import { writeOutput } from './output.js';

const FORMATS: Record<string, (c: Comparison) => string> = {
  table: comparisonTable,
  json: (c) => `${JSON.stringify(c, null, 2)}\n`,
  markdown: comparisonMarkdown,
};

interface CompareOptions extends RemoteFlags, ScanContextFlags {
  format: string;
  output?: string;
  env: string;
  exitCode?: string;
  failOn?: string;
  quiet?: boolean;
}

export function registerCompare(program: Command): void {
  addScanContextOptions(
    addRemoteOptions(
      program
        .command('compare')
        .description(
          'what changed between two images: packages, vulnerabilities fixed and introduced, grade, base image',
        )
        .argument('<before>', 'the earlier image (any target customs image takes)')
        .argument('<after>', 'the later image'),
    ),
  )
    .option('-f, --format <format>', `output format: ${Object.keys(FORMATS).join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('--env <env>', 'production, staging or dev', 'production')
    .option('--exit-code <n>', 'exit with this status when the later image introduces vulnerabilities')
    .option('--fail-on <level>', 'only introduced vulnerabilities of this severity or worse fail the run')
    .option('-q, --quiet', 'no warnings on standard error')
    .action(async (a: string, b: string, opts: CompareOptions) => {
      const write = formatOf(FORMATS, opts.format);
      const failOn = opts.failOn?.toUpperCase() as SeverityLevel | undefined;
      if (failOn && !LEVELS.includes(failOn))
        throw new CustomsError(`--fail-on: unknown level ${opts.failOn}`);
      const exitCode = opts.exitCode !== undefined ? Number(opts.exitCode) : failOn ? 1 : 0;
      const scanOpts = { ...(await scanContext(opts)), scanners: new Set(['vuln' as const]) };
      const [ra, rb] = [await scanImage(a, scanOpts), await scanImage(b, scanOpts)];
      const c = compareScans(ra, rb);
      const text = write(c);
      if (opts.output) await writeOutput(opts.output, text);
      else process.stdout.write(text);
      const bad = c.vulnerabilities.introduced.filter(
        (f) => !failOn || LEVELS.indexOf(f.severity) <= LEVELS.indexOf(failOn),
      );
      if (exitCode && bad.length) process.exitCode = exitCode;
    });
}
