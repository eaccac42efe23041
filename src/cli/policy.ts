import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import YAML from 'yaml';
import { CustomsError } from '../errors.js';
import { parsePlatform } from '../image/platform.js';
import { DEFAULT_POLICY, evaluatePolicy, loadPolicy } from '../policy/policy.js';
import { policyFormats } from '../report/policy-formats.js';
import type { Environment, Exposure } from '../scan/model.js';
import { scanImage } from '../scan/scan.js';
import { defaultDbPath } from '../vulndb/paths.js';
import { applyExceptions, ensureDatabase, type ImageOptions } from './image-run.js';
import {
  addExceptionOptions,
  addRemoteOptions,
  addScanContextOptions,
  formatOf,
  remoteOptions,
  type RemoteFlags,
  type ScanContextFlags,
} from './remote-options.js';

interface PolicyOptions extends RemoteFlags, ScanContextFlags {
  env: string;
  policy?: string;
  format: string;
  output?: string;
  exitCode: string;
  quiet?: boolean;
}

const DEFAULT_FILE = 'customs-policy.yaml';

function policyFrom(file?: string) {
  if (file) {
    if (!existsSync(file)) throw new CustomsError('no such file', file);
    return { policy: loadPolicy(file), name: file };
  }
  if (existsSync(DEFAULT_FILE)) return { policy: loadPolicy(DEFAULT_FILE), name: DEFAULT_FILE };
  return { policy: DEFAULT_POLICY, name: 'built-in' };
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
      `policy file (default: ./${DEFAULT_FILE} when present, else the built-in policy)`,
    )
    .option('-f, --format <format>', `output format: ${Object.keys(policyFormats).join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('--exit-code <n>', 'exit status when a rule fails', '1')
    .option('-q, --quiet', 'no warnings on standard error')
    .action(async (target: string, opts: PolicyOptions) => {
      const write = formatOf(policyFormats, opts.format);
      const { policy: p, name } = policyFrom(opts.policy);
      if (!p.environments[opts.env])
        throw new CustomsError(
          `the policy (${name}) has no environment "${opts.env}"; it has ${Object.keys(p.environments).join(', ')}`,
        );
      const exitCode = Number(opts.exitCode);
      const dbPath = defaultDbPath(opts.db);
      await ensureDatabase(dbPath, opts.quiet);
      const env = (
        ['production', 'staging', 'dev'].includes(opts.env) ? opts.env : 'production'
      ) as Environment;
      const scan = await scanImage(target, {
        dbPath,
        platform: opts.platform ? parsePlatform(opts.platform) : undefined,
        exposure: opts.exposure as Exposure,
        env,
        scanners: new Set(['vuln', 'secret', 'config'] as const),
        ...(await remoteOptions(opts)),
      });
      const result = applyExceptions(scan, { ...(opts as unknown as ImageOptions), vex: opts.vex ?? [] });
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
      if (opts.output) await writeFile(opts.output, text);
      else process.stdout.write(text);
      if (!report.passed) process.exitCode = exitCode;
    });
  policy
    .command('show')
    .description('print the effective policy as YAML (the built-in one unless a file is given or present)')
    .option('--policy <file>', 'policy file')
    .action((opts: { policy?: string }) => {
      process.stdout.write(YAML.stringify(policyFrom(opts.policy).policy));
    });
}
