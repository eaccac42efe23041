import type { Command } from 'commander';
import YAML from 'yaml';
import { CustomsError } from '../errors.js';
import { evaluatePolicy, POLICY_FILE, resolvePolicy } from '../policy/policy.js';
import { policyFormats } from '../report/policy-formats.js';
import { scanImage } from '../scan/scan.js';
import { applyExceptions, scanContext } from './image-run.js';
import {
  addExceptionOptions,
  addRemoteOptions,
  addScanContextOptions,
  formatOf,
  type RemoteFlags,
  type ScanContextFlags,
} from './remote-options.js';
import { writeOutput } from './output.js';

interface PolicyOptions extends RemoteFlags, ScanContextFlags {
  env: string;
  policy?: string;
  format: string;
  output?: string;
  exitCode: string;
  quiet?: boolean;
}

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description('environment policies: may this image go to production?');
  addExceptionOptions(
    addScanContextOptions(
      addRemoteOptions(
        policy
          .command('check')
          .description(
            'evaluate an image against the policy of one environment; the exit status says pass or fail',
          )
          .argument('<target>', 'any target customs image takes'),
      ),
    ),
  )
    .option('--env <env>', 'the environment whose rules apply', 'production')
    .option(
      '--policy <file>',
      `policy file (default: ./${POLICY_FILE} when present, else the built-in policy)`,
    )
    .option('-f, --format <format>', `output format: ${Object.keys(policyFormats).join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('--exit-code <n>', 'exit status when a rule fails', '1')
    .option('-q, --quiet', 'no warnings on standard error')
    .action(async (target: string, opts: PolicyOptions) => {
      const write = formatOf(policyFormats, opts.format);
      const { policy: p, name } = resolvePolicy(opts.policy);
      if (!p.environments[opts.env])
        throw new CustomsError(
          `the policy (${name}) has no environment "${opts.env}"; it has ${Object.keys(p.environments).join(', ')}`,
        );
      const exitCode = Number(opts.exitCode);
      const scan = await scanImage(target, {
        ...(await scanContext(opts)),
        scanners: new Set(['vuln', 'secret', 'config'] as const),
      });
      const result = applyExceptions(scan, opts);
      if (!opts.quiet)
        for (const w of result.warnings.filter((w) => /expired|exception/i.test(w)))
          process.stderr.write(`customs: warning: ${w}\n`);
      const rules = evaluatePolicy(p, opts.env, result);
      const report = {
        image: result.image.name,
        environment: opts.env,
        policy: name,
        passed: !rules.some((r) => r.status === 'fail'),
        rules,
      };
      const text = write(report, !opts.output && process.stdout.isTTY === true && !process.env.NO_COLOR);
      if (opts.output) await writeOutput(opts.output, text);
      else process.stdout.write(text);
      if (!report.passed) process.exitCode = exitCode;
    });
  policy
    .command('show')
    .description('print the effective policy as YAML (the built-in one unless a file is given or present)')
    .option('--policy <file>', 'policy file')
    .action((opts: { policy?: string }) => {
      process.stdout.write(YAML.stringify(resolvePolicy(opts.policy).policy));
    });
}
