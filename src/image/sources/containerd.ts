import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CustomsError } from '../../errors.js';
import type { Wants } from '../layer-reader.js';
import type { Limits } from '../limits.js';
import type { OpenedImage } from '../model.js';
import { formatPlatform, type Platform } from '../platform.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { resolveImage } from './layout.js';
import { TarStore } from './tar-store.js';

/**
 * Images in containerd's store. Its API is gRPC; rather than carry a gRPC stack and containerd's
 * protobuf definitions, Customs asks containerd's own client, `ctr`, which ships with it, to
 * stream `images export` (an OCI archive) and reads that in one pass like an archive on disk.
 */

export function containerdSockets(env = process.env): string[] {
  const out: string[] = [];
  if (env.CONTAINERD_ADDRESS) out.push(env.CONTAINERD_ADDRESS.replace(/^unix:\/\//, ''));
  out.push('/run/containerd/containerd.sock', '/run/docker/containerd/containerd.sock');
  return out;
}

/** Namespaces to look in: CONTAINERD_NAMESPACE, else default, Kubernetes' and Docker's. */
export function containerdNamespaces(env = process.env): string[] {
  return env.CONTAINERD_NAMESPACE ? [env.CONTAINERD_NAMESPACE] : ['default', 'k8s.io', 'moby'];
}

export function containerdAvailable(): { socket: string } | undefined {
  if (spawnSync('sh', ['-c', 'command -v ctr']).status !== 0) return undefined;
  const socket = containerdSockets().find((s) => existsSync(s));
  return socket ? { socket } : undefined;
}

/** containerd keeps full references: `alpine:3.19` is `docker.io/library/alpine:3.19`. */
function fullName(name: string): string {
  try {
    return formatReference(parseReference(name));
  } catch {
    return name;
  }
}

export async function openContainerdImage(
  name: string,
  target: string,
  opts: { wants: Wants; limits: Limits; platform: Platform },
): Promise<OpenedImage> {
  const found = containerdAvailable();
  if (!found)
    throw new CustomsError(
      `no containerd socket (tried ${containerdSockets().join(', ')}) or no ctr client on the PATH; set CONTAINERD_ADDRESS`,
    );
  const ref = fullName(name);
  const ctr = (ns: string, args: string[]) => ['-a', found.socket, '-n', ns, ...args];
  const ns = containerdNamespaces().find((n) => {
    const r = spawnSync('ctr', ctr(n, ['images', 'ls', '-q', `name==${ref}`]), {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return r.status === 0 && r.stdout.split('\n').includes(ref);
  });
  if (!ns)
    throw new CustomsError(
      `no image "${ref}" in containerd at ${found.socket} (namespaces ${containerdNamespaces().join(', ')})`,
    );
  const child = spawn(
    'ctr',
    ctr(ns, ['images', 'export', '--platform', formatPlatform(opts.platform), '-', ref]),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let store: TarStore;
  try {
    store = await TarStore.fromStream(child.stdout, target, opts.wants, opts.limits);
  } catch (err) {
    child.kill();
    const code = await exited;
    throw code ? new CustomsError(`ctr images export failed: ${stderr.trim().split('\n').pop()}`) : err;
  }
  const code = await exited;
  if (code) throw new CustomsError(`ctr images export failed: ${stderr.trim().split('\n').pop()}`);
  const image = await resolveImage(store, 'docker-daemon', target, {
    platform: opts.platform,
    wants: opts.wants,
    limits: opts.limits,
  });
  image.metadata.origin = `containerd at unix://${found.socket} (namespace ${ns})`;
  image.metadata.name = ref;
  return image;
}
