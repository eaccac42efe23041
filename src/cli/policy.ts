import { vexInputs } from './vex-input.js';
import type { Command } from 'commander';
import YAML from 'yaml';
import { CustomsError } from '../errors.js';
import { evaluatePolicy, POLICY_FILE, resolvePolicy } from '../policy/policy.js';
import { policyFormats } from '../report/policy-formats.js';
import { runScan } from '../scan/session.js';
import { scanContext } from './scan-context.js';
import { addExceptionOptions, addScanContextOptions, type ScanContextFlags } from './scan-flags.js';
import { addRemoteOptions, formatOf, type RemoteFlags } from './remote-options.js';
import { writeOutput } from './output.js';
import { readFileSync } from 'node:fs';
import type { ImageMetadata } from '../image/model.js';
import { dirname, resolve } from 'node:path';
import { trustedKey, verifyImageSignatures } from '../gate/cosign.js';
import { RegistryClient, type RegistryOptions } from '../image/registry/client.js';
import { parseReference } from '../image/registry/reference.js';

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
      const ctx = await scanContext(opts);
      const { result } = await runScan({
        ...ctx,
        source: { image: target },
        scanners: new Set(['vuln', 'secret', 'config'] as const),
        suppress: { ignorefile: opts.ignorefile, vex: await vexInputs(opts.vex, opts.vexKey), env: opts.env },
      });
      const keys = p.environments[opts.env].rules
        .filter((r) => r.check === 'signed-by')
        .flatMap((r) => (Array.isArray(r.with?.keys) ? (r.with.keys as unknown[]).map(String) : []));
      if (keys.length) result.signature = await signatureOf(result.image, keys, ctx.registry ?? {}, name);
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

/**
 * A signed-by rule's keys (inline PEM, or files relative to the policy file) checked against the
 * image's cosign signatures in its registry. Only a registry image has signatures to check.
 */
async function signatureOf(
  image: ImageMetadata,
  keys: string[],
  registry: RegistryOptions,
  policyFile: string,
): Promise<{ trusted: boolean; reason: string } | undefined> {
  // Files, folders and engines have no registry holding signatures: the rule then fails as unchecked.
  if (image.kind !== 'registry' || !image.manifestDigest) return undefined;
  const ref = parseReference(image.target.replace(/^(registry:|docker:\/\/)/, ''));
  const trusted = keys.map((k) => {
    if (k.includes('-----BEGIN')) return trustedKey(k, 'signed-by key');
    const file = resolve(policyFile === 'built-in' ? '.' : dirname(policyFile), k);
    try {
      return trustedKey(readFileSync(file, 'utf8'), file);
    } catch (err) {
      if (err instanceof CustomsError) throw err;
      throw new CustomsError(`cannot read the signed-by key: ${(err as NodeJS.ErrnoException).code}`, file);
    }
  });
  const client = new RegistryClient(ref.domain, registry);
  try {
    // The manifest that was scanned (a platform's, for an index) and the index itself may be signed.
    let check = await verifyImageSignatures(client, ref.repository, image.manifestDigest, trusted);
    if (!check.trusted) {
      const top = ref.digest ?? (await client.manifest(ref.repository, ref.tag ?? 'latest')).digest;
      if (top !== image.manifestDigest)
        check = await verifyImageSignatures(client, ref.repository, top, trusted);
    }
    return { trusted: check.trusted, reason: check.reason };
  } finally {
    await client.close();
  }
}
