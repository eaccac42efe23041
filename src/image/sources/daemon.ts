import { existsSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { CustomsError } from '../../errors.js';
import type { Wants } from '../layer-reader.js';
import type { Limits } from '../limits.js';
import type { OpenedImage } from '../model.js';
import type { Platform } from '../platform.js';
import { resolveImage } from './layout.js';
import { TarStore } from './tar-store.js';
import { containerdAvailable, openContainerdImage } from './containerd.js';

/** Where an engine API listens: a unix socket or plain TCP (`DOCKER_HOST=tcp://…`). */
export type Endpoint = { label: string; socketPath?: string; host?: string; port?: number };

function fromUrl(url: string, what: string): Endpoint {
  if (url.startsWith('unix://')) return { label: url, socketPath: url.slice('unix://'.length) };
  const m = /^(?:tcp|http):\/\/([^:/]+)(?::(\d+))?\/?$/.exec(url);
  if (m) return { label: url, host: m[1], port: Number(m[2] ?? 2375) };
  throw new CustomsError(`${what}=${url}: only unix:// and tcp:// (without TLS) endpoints are supported`);
}

/**
 * Candidate engine sockets in the order a user expects: for `docker-daemon:` DOCKER_HOST, then
 * docker's default socket, then Podman's (rootless, then rootful); for `podman:` only Podman's.
 */
export function candidateEndpoints(engine: 'docker' | 'podman', env = process.env): Endpoint[] {
  const out: Endpoint[] = [];
  if (engine === 'docker') {
    if (env.DOCKER_HOST) return [fromUrl(env.DOCKER_HOST, 'DOCKER_HOST')];
    out.push({ label: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock' });
  }
  if (env.CONTAINER_HOST) out.push(fromUrl(env.CONTAINER_HOST, 'CONTAINER_HOST'));
  if (env.XDG_RUNTIME_DIR) {
    const p = `${env.XDG_RUNTIME_DIR}/podman/podman.sock`;
    out.push({ label: `unix://${p}`, socketPath: p });
  }
  out.push({ label: 'unix:///run/podman/podman.sock', socketPath: '/run/podman/podman.sock' });
  return out;
}

function call(ep: Endpoint, path: string, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: ep.socketPath,
        host: ep.host,
        port: ep.port,
        path,
        method: 'GET',
        headers: { host: 'docker' },
      },
      resolve,
    );
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

async function readJson<T>(res: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    return { message: text.trim() } as T;
  }
}

/** The first endpoint that answers, with the engine's name and version. */
async function connect(
  engine: 'docker' | 'podman',
  timeoutMs: number,
): Promise<{ ep: Endpoint; engineName: string }> {
  const tried: string[] = [];
  for (const ep of candidateEndpoints(engine)) {
    if (ep.socketPath && !existsSync(ep.socketPath)) {
      tried.push(`${ep.label} (absent)`);
      continue;
    }
    try {
      const res = await call(ep, '/version', timeoutMs);
      const v = await readJson<{ Version?: string; Components?: Array<{ Name?: string }> }>(res);
      const podman = (v.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''));
      return { ep, engineName: `${podman ? 'Podman' : 'Docker Engine'} ${v.Version ?? ''}`.trim() };
    } catch (err) {
      tried.push(`${ep.label} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  throw new CustomsError(
    `no ${engine === 'podman' ? 'Podman' : 'Docker or Podman'} API answered; tried ${tried.join(', ')}. ` +
      'Set DOCKER_HOST (or CONTAINER_HOST), start the daemon (podman: "podman system service"), ' +
      'or for containerd set CONTAINERD_ADDRESS and use containerd:NAME',
  );
}

/**
 * An image from a running engine: `GET /images/NAME/get` streams what `docker save` writes, read
 * in one pass like an archive on disk (nothing is written out).
 */
export async function openDaemonImage(
  engine: 'docker' | 'podman',
  name: string,
  target: string,
  opts: { wants: Wants; limits: Limits; platform: Platform; timeoutMs?: number },
): Promise<OpenedImage> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let connected: Awaited<ReturnType<typeof connect>>;
  try {
    connected = await connect(engine, timeoutMs);
  } catch (err) {
    // Last in the order: containerd's own store (Kubernetes nodes, nerdctl), through ctr.
    if (engine === 'docker' && containerdAvailable()) return openContainerdImage(name, target, opts);
    throw err;
  }
  const { ep, engineName } = connected;
  const where = `${engineName} at ${ep.label}`;
  const id = encodeURIComponent(name);
  const inspect = await call(ep, `/images/${id}/json`, timeoutMs);
  const info = await readJson<{ Id?: string; RepoTags?: string[]; message?: string }>(inspect);
  if (inspect.statusCode === 404) throw new CustomsError(`no image "${name}" in ${where}`);
  if (inspect.statusCode !== 200)
    throw new CustomsError(
      `${where} answered ${inspect.statusCode} for image "${name}": ${info.message ?? ''}`,
    );
  const res = await call(ep, `/images/${id}/get`, timeoutMs);
  if (res.statusCode !== 200) {
    const e = await readJson<{ message?: string }>(res);
    throw new CustomsError(`${where} could not export "${name}": ${e.message ?? res.statusCode}`);
  }
  const store = await TarStore.fromStream(res, target, opts.wants, opts.limits);
  const image = await resolveImage(store, 'docker-daemon', target, {
    platform: opts.platform,
    wants: opts.wants,
    limits: opts.limits,
  });
  image.metadata.origin = where;
  image.metadata.name =
    info.RepoTags?.find((t) => t === name || t.endsWith(`/${name}`)) ?? info.RepoTags?.[0] ?? name;
  image.metadata.configDigest ??= info.Id;
  return image;
}
