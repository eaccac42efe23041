import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CustomsError } from '../../errors.js';
import { DOCKER_HUB } from './reference.js';

/** What a registry may be shown. Never logged, never written into a report. */
export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken` in config.json, or a helper's `<token>` user). */
  identityToken?: string;
  /** A ready bearer token, sent as is (CUSTOMS_REGISTRY_TOKEN). */
  registryToken?: string;
  /** Where they came from, for messages: `config.json`, `docker-credential-ecr-login`, … */
  source: string;
}

/** Docker Hub's key in config.json and for helpers, kept from the v1 API days. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

/** `https://ghcr.io/v2/` and `ghcr.io` name the same registry. */
function hostOf(key: string): string {
  const h = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? DOCKER_HUB : h;
}

function readConfig(path: string): DockerConfig {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DockerConfig;
  } catch (err) {
    throw new CustomsError(`not valid JSON: ${(err as Error).message}`, path);
  }
}

/**
 * Credentials for a registry, in docker's order: a per-registry helper (`credHelpers`), the
 * default store (`credsStore`), then the `auths` entry itself.
 */
export async function credentialsFor(
  domain: string,
  configPath = dockerConfigPath(),
): Promise<Credentials | undefined> {
  const config = readConfig(configPath);
  const helper = Object.entries(config.credHelpers ?? {}).find(([k]) => hostOf(k) === domain)?.[1];
  const fromHelper = async (name: string) => {
    const serverUrl = domain === DOCKER_HUB ? DOCKER_HUB_KEY : domain;
    return runHelper(name, serverUrl);
  };
  if (helper) return fromHelper(helper);
  const entry = Object.entries(config.auths ?? {}).find(([k]) => hostOf(k) === domain)?.[1];
  if (config.credsStore) {
    const c = await fromHelper(config.credsStore);
    if (c) return c;
  }
  if (!entry) return undefined;
  const source = configPath;
  if (entry.identitytoken) return { identityToken: entry.identitytoken, source };
  if (entry.username && entry.password) return { username: entry.username, password: entry.password, source };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i <= 0)
      throw new CustomsError(`the auth entry for ${domain} is not base64 of user:password`, configPath);
    return { username: text.slice(0, i), password: text.slice(i + 1), source };
  }
  return undefined;
}

/**
 * The docker-credential-helpers protocol: `docker-credential-NAME get` reads the server URL on
 * standard input and prints {ServerURL, Username, Secret}; "not found" is no credentials.
 */
export function runHelper(
  name: string,
  serverUrl: string,
  timeoutMs = 30_000,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CustomsError(`credential helper ${program} did not answer in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new CustomsError(
          e.code === 'ENOENT'
            ? `credential helper ${program} is not installed (named in ${dockerConfigPath()})`
            : `credential helper ${program}: ${e.message}`,
        ),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        const said = (out + err).trim();
        if (/credentials not found/i.test(said)) return resolve(undefined);
        return reject(
          new CustomsError(`credential helper ${program} failed: ${said.split('\n')[0] || `exit ${code}`}`),
        );
      }
      try {
        const j = JSON.parse(out) as { Username?: string; Secret?: string };
        if (!j.Secret) return resolve(undefined);
        // A username of `<token>` marks an identity (refresh) token, as docker does.
        resolve(
          j.Username === '<token>'
            ? { identityToken: j.Secret, source: program }
            : { username: j.Username, password: j.Secret, source: program },
        );
      } catch {
        reject(new CustomsError(`credential helper ${program} printed something that is not JSON`));
      }
    });
    child.stdin.on('error', () => undefined); // a helper that exits without reading
    child.stdin.end(serverUrl);
  });
}
