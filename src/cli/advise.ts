import { vexInputs } from './vex-input.js';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  adviceTable,
  baseLayerCount,
  candidateTags,
  planFor,
  rankBases,
  upgrades,
  type Advice,
} from '../advise/advise.js';
import { RegistryClient, type RegistryOptions } from '../image/registry/client.js';
import { formatReference, parseReference } from '../image/registry/reference.js';
import { CustomsError } from '../errors.js';
import { evaluatePolicy, resolvePolicy } from '../policy/policy.js';
import type { ScanResult } from '../model/scan.js';
import { runScan } from '../scan/session.js';
import { scanContext } from './scan-context.js';
import { addExceptionOptions, addScanContextOptions, type ScanContextFlags } from './scan-flags.js';
import { addRemoteOptions, formatOf, type RemoteFlags } from './remote-options.js';
import { readUserFile } from '../user-file.js';
import { writeOutput } from './output.js';

interface AdviseOptions extends RemoteFlags, ScanContextFlags {
  baseCandidates?: string;
  env: string;
  policy?: string;
  format: string;
  output?: string;
  quiet?: boolean;
}

const FORMATS: Record<string, (a: Advice) => string> = {
  table: adviceTable,
  json: (a) => `${JSON.stringify(a, null, 2)}\n`,
};

/** One target per line; blank lines and `#` comments ignored. */
function readCandidates(file: string): string[] {
  if (!existsSync(file)) throw new CustomsError('no such file', file);
  return readUserFile(file)
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

const BASE_LABEL = 'org.opencontainers.image.base.name';

/**
 * Without a candidates file: when the image names its base (the OCI base-name label), the base
 * repository's version tags from that registry; unreachable registries are a warning.
 */
async function registryCandidates(
  r: ScanResult,
  registry: RegistryOptions,
  quiet?: boolean,
): Promise<string[]> {
  // BuildKit writes the base as a manifest annotation; some builders as a config label.
  const base = r.image.annotations?.[BASE_LABEL] ?? r.image.labels[BASE_LABEL];
  if (!base) return [];
  try {
    const ref = parseReference(base);
    const client = new RegistryClient(ref.domain, registry);
    try {
      const tags = candidateTags(ref.tag, await client.tags(ref.repository));
      return tags.map((t) => `registry:${formatReference({ ...ref, tag: t, digest: undefined })}`);
    } finally {
      await client.close();
    }
  } catch (err) {
    if (!quiet)
      process.stderr.write(
        `customs: warning: base image ${base}: tags could not be listed (${(err as Error).message})\n`,
      );
    return [];
  }
}

export function registerAdvise(program: Command): void {
  addExceptionOptions(
    addScanContextOptions(
      addRemoteOptions(
        program
          .command('advise')
          .description(
            'a ranked fix plan: package upgrades, the best base image among candidates, steps to pass a policy',
          )
          .argument('<target>', 'any target customs image takes'),
      ),
    ),
  )
    .option(
      '--base-candidates <file>',
      'candidate base images, one target per line (archives, layouts or registry references)',
    )
    .option('--env <env>', 'the environment whose policy the plan aims at', 'production')
    .option('--policy <file>', 'policy file (default: ./customs-policy.yaml when present, else built-in)')
    .option('-f, --format <format>', `output format: ${Object.keys(FORMATS).join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('-q, --quiet', 'no warnings on standard error')
    .action(async (target: string, opts: AdviseOptions) => {
      const write = formatOf(FORMATS, opts.format);
      const { policy } = resolvePolicy(opts.policy);
      const common = await scanContext(opts);
      const { result: r } = await runScan({
        ...common,
        source: { image: target },
        scanners: new Set(['vuln', 'secret', 'config'] as const),
        suppress: { ignorefile: opts.ignorefile, vex: await vexInputs(opts.vex, opts.vexKey), env: opts.env },
      });
      const candidates: ScanResult[] = [];
      const targets = opts.baseCandidates
        ? readCandidates(opts.baseCandidates)
        : await registryCandidates(r, common.registry ?? {}, opts.quiet);
      for (const c of targets)
        candidates.push(
          (await runScan({ ...common, source: { image: c }, scanners: new Set(['vuln'] as const) })).result,
        );
      const baseLayers = baseLayerCount(r, candidates);
      const { upgrades: ups, unfixable } = upgrades(r, baseLayers);
      const ranked = rankBases(r, candidates, baseLayers);
      // A candidate is worth recommending when it stays in the family and is supported, and
      // removes risk or replaces an end-of-life release.
      const recommended =
        ranked.find((c) => c.sameFamily && c.supported && (c.riskRemoved > 0 || !!r.os?.eol?.endOfLife)) ??
        ranked.find((c) => c.sameFamily && c.riskRemoved > 0);
      const advice: Advice = {
        schemaVersion: 1,
        image: r.image.name,
        os: r.os ? `${r.os.id} ${r.os.version}` : undefined,
        baseLayers,
        upgrades: ups,
        unfixable,
        base: candidates.length
          ? { current: r.os ? `${r.os.id} ${r.os.version}` : undefined, candidates: ranked, recommended }
          : undefined,
      };
      if (policy.environments[opts.env]) {
        const rules = evaluatePolicy(policy, opts.env, r);
        advice.plan = {
          environment: opts.env,
          passes: !rules.some((x) => x.status === 'fail'),
          steps: planFor(rules, advice, r),
        };
      }
      const text = write(advice);
      if (opts.output) await writeOutput(opts.output, text);
      else process.stdout.write(text);
    });
}
