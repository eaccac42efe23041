import type { Command } from 'commander';
import { comparisonMarkdown, comparisonTable, compareScans, type Comparison } from '../compare/compare.js';
import { atLeast } from '../model/severity.js';
import { runScan } from '../scan/session.js';
import { addRemoteOptions, formatOf, type RemoteFlags } from './remote-options.js';
import { scanContext } from './scan-context.js';
import { addGateOptions, addScanContextOptions, gateFlags, type ScanContextFlags } from './scan-flags.js';
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
  addGateOptions(
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
    ),
    {
      exitCode: 'exit with this status when the later image introduces vulnerabilities',
      failOn: 'only introduced vulnerabilities of this severity or worse fail the run',
    },
  )
    .option('-f, --format <format>', `output format: ${Object.keys(FORMATS).join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('--env <env>', 'production, staging or dev', 'production')
    .option('-q, --quiet', 'no warnings on standard error')
    .action(async (a: string, b: string, opts: CompareOptions) => {
      const write = formatOf(FORMATS, opts.format);
      const { failOn, exitCode } = gateFlags(opts);
      // Both images as the scanner finds them: no ignore file or VEX, which speak of one image.
      const request = { ...(await scanContext(opts)), scanners: new Set(['vuln' as const]) };
      const ra = (await runScan({ ...request, source: { image: a } })).result;
      const rb = (await runScan({ ...request, source: { image: b } })).result;
      const c = compareScans(ra, rb);
      const text = write(c);
      if (opts.output) await writeOutput(opts.output, text);
      else process.stdout.write(text);
      const bad = c.vulnerabilities.introduced.filter((f) => atLeast(f.severity, failOn));
      if (exitCode && bad.length) process.exitCode = exitCode;
    });
}
