import { CustomsError } from '../errors.js';
import type { Environment } from '../model/scan.js';
import { resolvePolicy } from '../policy/policy.js';
import type { ScanRequest } from '../scan/session.js';
import { defaultDbPath } from '../vulndb/paths.js';
import { remoteOptions, type RemoteFlags } from './remote-options.js';
import { exposureFlag, platformFlag, secretMaxFileSize } from './scan-flags.js';

const BUILT_IN_ENVS = ['production', 'staging', 'dev'];

/**
 * `--env`: the three built-in environments, or any the policy in force defines
 * (./customs-policy.yaml). Ranking knows the three; another name ranks as production, the
 * strictest, while exceptions and policies see the name as given.
 */
export function checkEnv(env: string): void {
  if (BUILT_IN_ENVS.includes(env)) return;
  const { policy, name } = resolvePolicy();
  if (!policy.environments[env])
    throw new CustomsError(
      `--env must be production, staging, dev or an environment of the policy (${name}: ${Object.keys(policy.environments).join(', ')})`,
    );
}

export const rankingEnv = (env: string): Environment =>
  (BUILT_IN_ENVS.includes(env) ? env : 'production') as Environment;

/**
 * What every command that scans shares, parsed once per run: the database (fetched on first
 * use), platform, context and registry access (a password is read from standard input once, however
 * many images the command scans). An environment name a policy invents ranks as production.
 */
export async function scanContext(
  opts: RemoteFlags & {
    db?: string;
    platform?: string;
    exposure: string;
    env: string;
    quiet?: boolean;
    secretMaxFileSize?: string;
  },
  remote = true,
): Promise<Omit<ScanRequest, 'source'>> {
  const secretMax = secretMaxFileSize(opts.secretMaxFileSize);
  const platform = platformFlag(opts.platform);
  const exposure = exposureFlag(opts.exposure);
  return {
    dbPath: defaultDbPath(opts.db),
    platform,
    exposure,
    env: rankingEnv(opts.env),
    secretMaxFileSize: secretMax,
    fetchDatabase: {
      insecure: opts.insecure,
      say: (line) => {
        if (!opts.quiet) process.stderr.write(`customs: ${line}\n`);
      },
    },
    ...(remote ? await remoteOptions(opts) : {}),
  };
}
