import type { Command } from 'commander';
import { CustomsError } from '../errors.js';
import type { RegistryOptions } from '../image/registry/client.js';
import { describeAttestation } from '../image/attestations.js';
import type { ImageMetadata } from '../image/model.js';
import { secondsFlag } from './scan-flags.js';

/** Flags every command that takes an image target shares: registry access and the layer cache. */
export interface RemoteFlags {
  insecure?: boolean;
  timeout?: string;
  retries?: string;
  username?: string;
  passwordStdin?: boolean;
  /** false with --no-cache. */
  cache?: boolean;
}

export function addRemoteOptions(cmd: Command): Command {
  return cmd
    .option('--insecure', 'allow a registry on plain HTTP or with an unverified TLS certificate')
    .option('--timeout <seconds>', 'fail when a registry or daemon sends nothing for this long', '30')
    .option(
      '--retries <n>',
      'registry attempts after the first on 429, 5xx, broken or stalled connections',
      '4',
    )
    .option('--username <user>', 'registry user name (with --password-stdin); default: docker config.json')
    .option('--password-stdin', 'read the registry password or token from standard input')
    .option('--no-cache', 'do not read or fill the registry layer cache');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export async function remoteOptions(
  flags: RemoteFlags,
): Promise<{ registry: RegistryOptions; layerCache?: null }> {
  const seconds = secondsFlag(flags.timeout);
  const retries = Number(flags.retries ?? 4);
  if (!Number.isInteger(retries) || retries < 0 || retries > 20)
    throw new CustomsError('--retries must be a whole number from 0 to 20');
  const registry: RegistryOptions = { insecure: flags.insecure, timeoutMs: seconds * 1000, retries };
  if (flags.passwordStdin) {
    if (!flags.username) throw new CustomsError('--password-stdin needs --username');
    const password = await readStdin();
    if (!password) throw new CustomsError('--password-stdin: nothing on standard input');
    registry.credentials = { username: flags.username, password, source: '--username/--password-stdin' };
  } else if (flags.username) {
    throw new CustomsError('--username needs --password-stdin (passwords are not taken on the command line)');
  }
  return { registry, layerCache: flags.cache === false ? null : undefined };
}

/** On standard error: where a remote image came from, and what it attests about itself. */
export function describeRemote(image: ImageMetadata): void {
  if (image.origin) process.stderr.write(`customs: read ${image.origin}\n`);
  for (const a of image.attestations ?? []) process.stderr.write(`customs: ${describeAttestation(a)}\n`);
}

/** `-f/--format` over a registry of writers, checked before any work is done. */
export function formatOf<T>(formats: Record<string, T>, name: string): T {
  const w = formats[name];
  if (!w) throw new CustomsError(`unknown format "${name}"; use one of ${Object.keys(formats).join(', ')}`);
  return w;
}
