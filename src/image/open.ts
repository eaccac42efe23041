import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CustomsError, withInput } from '../errors.js';
import type { Wants } from './layer-reader.js';
import { defaultLimits, MemoryBudget, type Limits } from './limits.js';
import type { OpenedImage } from './model.js';
import { hostPlatform, type Platform } from './platform.js';
import { DirStore } from './sources/dir-store.js';
import { resolveImage } from './sources/layout.js';
import { openRootfs } from './sources/rootfs.js';
import { isPlainTar, SeekableTarStore } from './sources/seekable-tar-store.js';
import { TarStore } from './sources/tar-store.js';
import type { RegistryOptions } from './registry/client.js';
import type { LayerCache } from './layer-cache.js';

export interface OpenOptions {
  wants: Wants;
  /** Folders only: paths (relative to the folder) not to read at all. */
  skip?: (path: string, isDir: boolean) => boolean;
  platform?: Platform;
  limits?: Partial<Limits>;
  /** Registry and daemon access: TLS, timeout, credentials. */
  registry?: RegistryOptions;
  /** Layer cache for registry images; null turns it off (default: the user cache folder). */
  layerCache?: LayerCache | null;
  /** Registry images: read the layers only when no SBOM attestation can stand in for them. */
  useAttestedSbom?: boolean;
}

const PREFIXES = ['docker-archive', 'oci-archive', 'oci', 'oci-dir', 'dir', 'rootfs'] as const;
/** Remote sources: `registry:` (or skopeo's `docker://`), a running engine's API. */
const REMOTE = /^(registry:|docker:\/\/|docker-daemon:|podman:|containerd:)(.*)$/;

/** A path the user most likely meant as a local file (so a typo is not looked up on Docker Hub). */
const FILE_LIKE = /(^[./~]|\.(tar|tgz|gz|zst|oci|json|ya?ml)$)/i;
type Prefix = (typeof PREFIXES)[number];

/** Split `scheme:path[:ref]`; a path that exists wins over a trailing `:ref`. */
export function parseTarget(target: string): { scheme?: Prefix; path: string; ref?: string } {
  const m = /^([a-z-]+):(.*)$/.exec(target);
  const scheme = m && (PREFIXES as readonly string[]).includes(m[1]) ? (m[1] as Prefix) : undefined;
  const rest = scheme ? m![2] : target;
  if (scheme && !existsSync(rest)) {
    const i = rest.lastIndexOf(':');
    if (i > 0 && existsSync(rest.slice(0, i)))
      return { scheme, path: rest.slice(0, i), ref: rest.slice(i + 1) };
  }
  return { scheme, path: rest };
}

/** Open any local image: docker/OCI archives, OCI layouts and root filesystem folders. */
export async function openImage(target: string, opts: OpenOptions): Promise<OpenedImage> {
  const limits = { ...defaultLimits, ...opts.limits };
  limits.budget ??= new MemoryBudget(limits.maxHeldBytes);
  const platform = opts.platform ?? hostPlatform();
  const remote = REMOTE.exec(target);
  if (remote) return openRemote(remote[1], remote[2], target, opts, limits, platform);
  const { scheme, path, ref } = parseTarget(target);
  if (!existsSync(path)) {
    // Like docker: a name that is not a local path is an image reference (alpine:3.19, ghcr.io/…).
    if (!scheme && !FILE_LIKE.test(target) && /^[a-z0-9]/i.test(target))
      return openRemote('registry:', target, target, opts, limits, platform);
    throw new CustomsError('no such file or directory', target);
  }
  try {
    const st = statSync(path);
    const resolveOpts = { platform, ref, wants: opts.wants, limits };
    if (st.isDirectory()) {
      // A root filesystem never has index.json or oci-layout at its top; an OCI layout always has one.
      const isLayout = existsSync(join(path, 'index.json')) || existsSync(join(path, 'oci-layout'));
      if (scheme === 'oci' || scheme === 'oci-dir' || (!scheme && isLayout)) {
        return await resolveImage(new DirStore(path, target), 'oci-layout', target, resolveOpts);
      }
      if (scheme && scheme !== 'dir' && scheme !== 'rootfs') {
        throw new CustomsError(`${scheme}: expects a file, but this is a folder`);
      }
      return await openRootfs(path, target, opts.wants, limits, opts.skip);
    }
    if (!st.isFile())
      throw new CustomsError('not a regular file or folder (a device, pipe or socket is not an image)');
    if (scheme === 'dir' || scheme === 'rootfs' || scheme === 'oci' || scheme === 'oci-dir') {
      throw new CustomsError(`${scheme}: expects a folder, but this is a file`);
    }
    // A plain archive is indexed and read by range (layers in parallel); a compressed one in one pass.
    const store = isPlainTar(path)
      ? new SeekableTarStore(path, target)
      : await TarStore.open(path, target, opts.wants, limits);
    const kind =
      scheme === 'oci-archive'
        ? 'oci-archive'
        : scheme === 'docker-archive'
          ? 'docker-archive'
          : store.has('manifest.json')
            ? 'docker-archive'
            : 'oci-archive';
    if (scheme === 'docker-archive' && !store.has('manifest.json')) {
      throw new CustomsError('not a docker archive: manifest.json is missing');
    }
    if (scheme === 'oci-archive' && !store.has('index.json')) {
      throw new CustomsError('not an OCI archive: index.json is missing');
    }
    return await resolveImage(store, kind, target, resolveOpts);
  } catch (err) {
    throw withInput(err, target);
  }
}

async function openRemote(
  prefix: string,
  rest: string,
  target: string,
  opts: OpenOptions,
  limits: Limits,
  platform: Platform,
): Promise<OpenedImage> {
  // Loaded here, not at the top: a scan of a file need not load the HTTP client (about 50 ms).
  const { openContainerdImage } = await import('./sources/containerd.js');
  const { openDaemonImage } = await import('./sources/daemon.js');
  const { RegistryStore } = await import('./sources/registry-store.js');
  const { RegistryClient } = await import('./registry/client.js');
  const { formatReference, parseReference } = await import('./registry/reference.js');
  const { LayerCache } = await import('./layer-cache.js');
  try {
    if (prefix === 'containerd:') {
      if (!rest)
        throw new CustomsError('containerd: needs an image name, e.g. containerd:docker.io/library/app:1');
      return await openContainerdImage(rest, target, { wants: opts.wants, limits, platform });
    }
    if (prefix === 'docker-daemon:' || prefix === 'podman:') {
      if (!rest) throw new CustomsError(`${prefix} needs an image name, e.g. ${prefix}app:dev`);
      return await openDaemonImage(prefix === 'podman:' ? 'podman' : 'docker', rest, target, {
        wants: opts.wants,
        limits,
        platform,
        timeoutMs: opts.registry?.timeoutMs,
      });
    }
    const ref = parseReference(rest);
    const client = new RegistryClient(ref.domain, opts.registry);
    try {
      const cache = opts.layerCache === undefined ? LayerCache.default() : (opts.layerCache ?? undefined);
      const store = new RegistryStore(client, ref, target, cache);
      await store.init();
      const resolve = (metadataOnly: boolean) =>
        resolveImage(store, 'registry', target, { platform, wants: opts.wants, limits, metadataOnly });
      let image = await resolve(!!opts.useAttestedSbom);
      const attWarnings: string[] = [];
      const found = await store.attestations(image.metadata.manifestDigest!, attWarnings);
      const sboms = found.filter((a) => a.sbom);
      if (opts.useAttestedSbom && !sboms.length) {
        image = await resolve(false);
        image.metadata.warnings.push(
          '--use-attested-sbom: the image carries no SBOM attestation; its layers were read',
        );
      }
      image.metadata.warnings.push(...attWarnings);
      image.metadata.attestations = found.map((a) => a.attestation);
      image.attestedSboms = sboms;
      image.metadata.origin = `${formatReference(ref)} (${store.top!.digest}); layers: ${store.stats.downloadedLayers} downloaded, ${store.stats.cachedLayers} from the cache`;
      image.metadata.name = formatReference(ref);
      if (!image.metadata.repoTags.length) image.metadata.repoTags = [formatReference(ref)];
      return image;
    } finally {
      await client.close();
    }
  } catch (err) {
    throw withInput(err, target);
  }
}
