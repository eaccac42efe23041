import type { Command } from 'commander';
import { CustomsError } from '../errors.js';
import type { RegistryOptions } from '../image/registry/client.js';
import { describeAttestation } from '../image/attestations.js';
import type { ImageMetadata } from '../image/model.js';

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
  const seconds = Number(flags.timeout ?? 30);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new CustomsError('--timeout must be a positive number of seconds');
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

/** What addScanContextOptions and addExceptionOptions add. */
export interface ScanContextFlags {
  db?: string;
  platform?: string;
  exposure: string;
  secretMaxFileSize?: string;
  ignorefile?: string;
  vex: string[];
}

/** Options of every command that scans for vulnerabilities: database, platform, context. */
export function addScanContextOptions(cmd: Command): Command {
  return cmd
    .option('--db <path>', 'vulnerability database (default: $CUSTOMS_DB or the user cache folder)')
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image')
    .option(
      '--exposure <where>',
      'internet or internal: where the image runs (changes the ranking)',
      'internet',
    )
    .option(
      '--secret-max-file-size <size>',
      'files larger than this are not searched for secrets, only counted and named in a warning (default 5M, at most 256M)',
    );
}

/** Exceptions: the ignore file and VEX documents. */
export function addExceptionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--ignorefile <file>',
      'exceptions with reasons and expiry (default: ./.customsignore.yaml when present)',
    )
    .option(
      '--vex <file>',
      'an OpenVEX or CycloneDX VEX document (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    );
}

/** `-f/--format` over a registry of writers, checked before any work is done. */
export function formatOf<T>(formats: Record<string, T>, name: string): T {
  const w = formats[name];
  if (!w) throw new CustomsError(`unknown format "${name}"; use one of ${Object.keys(formats).join(', ')}`);
  return w;
}
