import { CustomsError } from '../../errors.js';
import { progressLayerDone, progressLayers } from '../../progress.js';
import { AnalysisCache } from '../analysis-cache.js';
import type { ReadLayerResult, Wants } from '../layer-reader.js';
import type { Limits } from '../limits.js';
import type { HistoryEntry, ImageMetadata, LayerContent, LayerInfo, OpenedImage } from '../model.js';
import { formatPlatform, platformMatches, type Platform } from '../platform.js';
import { blobPath, type BlobStore } from './store.js';

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);
const REF_NAME = 'org.opencontainers.image.ref.name';
const LAYER_CONCURRENCY = 2;

/** Map with at most `limit` promises in flight; results keep the input order; the first error wins. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, unknown>;
    Healthcheck?: { Test?: string[] };
  };
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>;
}

export interface ResolveOptions {
  platform: Platform;
  /** A tag or ref name to pick when the archive holds several images. */
  ref?: string;
  wants: Wants;
  limits: Limits;
  /** Manifest and config only: no layer is read (the inventory comes from elsewhere). */
  metadataOnly?: boolean;
}

async function readJson<T>(store: BlobStore, path: string, what: string): Promise<T> {
  const buf = await store.readSmall(path);
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (err) {
    throw new CustomsError(`${what} (${path}) is not valid JSON`, undefined, { cause: err });
  }
}

/**
 * Turn an archive or layout into an image: manifest.json (docker save, both the legacy layout and
 * the OCI-in-docker one newer engines write) or index.json (OCI layout/archive).
 */
export async function resolveImage(
  store: BlobStore,
  kind: ImageMetadata['kind'],
  target: string,
  opts: ResolveOptions,
): Promise<OpenedImage> {
  if (store.has('manifest.json')) return resolveDockerArchive(store, kind, target, opts);
  if (store.has('index.json')) return resolveOci(store, kind, target, opts);
  throw new CustomsError(
    'not a container image: it has neither manifest.json (docker save) nor index.json (OCI)',
  );
}

async function resolveDockerArchive(
  store: BlobStore,
  kind: ImageMetadata['kind'],
  target: string,
  opts: ResolveOptions,
): Promise<OpenedImage> {
  const manifest = await readJson<Array<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }>>(
    store,
    'manifest.json',
    'docker manifest',
  );
  if (!Array.isArray(manifest) || manifest.length === 0) {
    throw new CustomsError('manifest.json lists no image');
  }
  let entry = manifest[0];
  if (opts.ref) {
    const found = manifest.find((m) =>
      (m.RepoTags ?? []).some((t) => t === opts.ref || t.endsWith(`/${opts.ref}`)),
    );
    if (!found) throw new CustomsError(`no image tagged "${opts.ref}" in the archive`);
    entry = found;
  }
  if (!entry || typeof entry !== 'object' || typeof entry.Config !== 'string' || !Array.isArray(entry.Layers))
    throw new CustomsError('manifest.json entry has no Config or Layers');
  if (entry.Layers.some((l) => typeof l !== 'string' || !l))
    throw new CustomsError('manifest.json lists a layer that is not a path');
  const config = await readJson<ImageConfig>(store, entry.Config, 'image config');
  const warnings: string[] = [];
  if (manifest.length > 1 && !opts.ref) {
    warnings.push(
      `the archive holds ${manifest.length} images; scanning the first (${(entry.RepoTags ?? [])[0] ?? entry.Config})`,
    );
  }
  const configDigest =
    /^blobs\/sha256\/([a-f0-9]{64})$/.exec(entry.Config)?.[1] ??
    /^([a-f0-9]{64})\.json$/.exec(entry.Config)?.[1];
  const layers: LayerInfo[] = entry.Layers.map((path, index) => {
    const m = /^blobs\/(sha256)\/([a-f0-9]{64})$/.exec(path);
    return { index, digest: m ? `${m[1]}:${m[2]}` : undefined, diffId: config.rootfs?.diff_ids?.[index] };
  });
  const repoTags = entry.RepoTags ?? [];
  return finish(store, kind, target, opts, {
    config,
    layerPaths: entry.Layers,
    layers,
    repoTags,
    name: repoTags[0],
    configDigest: configDigest ? `sha256:${configDigest}` : undefined,
    warnings,
  });
}

async function resolveOci(
  store: BlobStore,
  kind: ImageMetadata['kind'],
  target: string,
  opts: ResolveOptions,
): Promise<OpenedImage> {
  const index = await readJson<{ manifests?: Descriptor[]; mediaType?: string }>(
    store,
    'index.json',
    'OCI index',
  );
  let candidates = (index.manifests ?? []).filter((d) => d && typeof d.digest === 'string');
  if (candidates.length === 0) throw new CustomsError('index.json lists no manifests');
  let refName: string | undefined;
  if (opts.ref) {
    candidates = candidates.filter((d) => d.annotations?.[REF_NAME] === opts.ref);
    if (candidates.length === 0) throw new CustomsError(`no manifest named "${opts.ref}" in index.json`);
  }
  let manifestDesc: Descriptor | undefined;
  for (let depth = 0; depth < 8 && !manifestDesc; depth++) {
    const picked = pickDescriptor(candidates, opts.platform);
    refName ??= picked.annotations?.['io.containerd.image.name'] ?? picked.annotations?.[REF_NAME];
    if (SCHEMA1_TYPES.has(picked.mediaType ?? '')) {
      throw new CustomsError('Docker schema 1 manifests are deprecated and not supported; re-push the image');
    }
    const doc = await readJson<{ mediaType?: string; manifests?: Descriptor[]; config?: Descriptor }>(
      store,
      blobPath(picked.digest),
      'manifest',
    );
    if (INDEX_TYPES.has(picked.mediaType ?? '') || INDEX_TYPES.has(doc.mediaType ?? '') || doc.manifests) {
      candidates = (doc.manifests ?? []).filter((d) => d && typeof d.digest === 'string');
      if (candidates.length === 0) throw new CustomsError(`index ${picked.digest} lists no manifests`);
      continue;
    }
    manifestDesc = picked;
  }
  if (!manifestDesc) throw new CustomsError('image indexes nest too deeply');
  const manifest = await readJson<{
    mediaType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
    annotations?: Record<string, string>;
  }>(store, blobPath(manifestDesc.digest), 'manifest');
  if (manifest.mediaType && !MANIFEST_TYPES.has(manifest.mediaType)) {
    throw new CustomsError(`unsupported manifest media type ${manifest.mediaType}`);
  }
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) {
    throw new CustomsError(`manifest ${manifestDesc.digest} has no config or layers`);
  }
  const config = await readJson<ImageConfig>(store, blobPath(manifest.config.digest), 'image config');
  const layers: LayerInfo[] = manifest.layers.map((d, index) => ({
    index,
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    diffId: config.rootfs?.diff_ids?.[index],
  }));
  return finish(store, kind, target, opts, {
    config,
    layerPaths: manifest.layers.map((d) => blobPath(d.digest)),
    layers,
    repoTags: refName ? [refName] : [],
    name: refName,
    manifestDigest: manifestDesc.digest,
    configDigest: manifest.config.digest,
    annotations: manifest.annotations,
    warnings: [],
  });
}

function pickDescriptor(candidates: Descriptor[], want: Platform): Descriptor {
  // Attestation manifests (BuildKit) carry platform unknown/unknown; they are not images.
  const images = candidates.filter(
    (d) =>
      d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' && d.platform?.os !== 'unknown',
  );
  const withPlatform = images.filter((d) => d.platform);
  if (withPlatform.length === 0) return images[0] ?? candidates[0];
  const match = withPlatform.find((d) => platformMatches(d.platform, want));
  if (match) return match;
  const available = withPlatform.map((d) => formatPlatform(d.platform ?? {})).join(', ');
  throw new CustomsError(
    `no image for platform ${formatPlatform(want)}; available: ${available} (use --platform)`,
  );
}

interface Resolved {
  config: ImageConfig;
  layerPaths: string[];
  layers: LayerInfo[];
  repoTags: string[];
  name?: string;
  manifestDigest?: string;
  configDigest?: string;
  annotations?: Record<string, string>;
  warnings: string[];
}

async function finish(
  store: BlobStore,
  kind: ImageMetadata['kind'],
  target: string,
  opts: ResolveOptions,
  r: Resolved,
): Promise<OpenedImage> {
  const history: HistoryEntry[] = (r.config.history ?? []).map((h) => ({
    created: h.created,
    createdBy: h.created_by,
    comment: h.comment,
    emptyLayer: h.empty_layer,
  }));
  // History steps that made a layer, in order, line up with the layers.
  const steps = history.filter((h) => !h.emptyLayer);
  if (steps.length === r.layers.length) r.layers.forEach((l, i) => (l.createdBy = steps[i].createdBy));
  else if (steps.length)
    r.warnings.push(`history has ${steps.length} layer steps for ${r.layers.length} layers`);
  const diffIds = r.config.rootfs?.diff_ids;
  if (diffIds && diffIds.length !== r.layers.length) {
    throw new CustomsError(
      `config lists ${diffIds.length} diff_ids but the manifest ${r.layers.length} layers`,
    );
  }

  // Two layers at a time: gunzip runs on libuv's pool while the main thread hashes and parses tar,
  // so a second layer in flight uses the second core. More would only raise peak memory.
  if (!opts.metadataOnly) progressLayers(r.layers.length);
  const cache = opts.wants.key ? AnalysisCache.default() : undefined;
  const results = await mapLimit(opts.metadataOnly ? [] : r.layers, LAYER_CONCURRENCY, async (info, i) => {
    const key = cache && AnalysisCache.keyOf(info.diffId ?? diffIds?.[i], opts.wants, opts.limits);
    const hit = key ? cache!.get(key) : undefined;
    let res: ReadLayerResult;
    if (hit) {
      // Not read: the blob digest is the manifest's (the config binds the diff_id), and what the
      // analysers keep counts against this scan's memory budget as if it had been read.
      res = { ...hit, info, blobDigest: info.digest ?? hit.blobDigest };
      let held = 0;
      for (const f of res.files.values()) if (Buffer.isBuffer(f.content)) held += f.content.length;
      opts.limits.budget?.take(held, `layer ${i + 1} (from the analysis cache)`);
    } else {
      res = await store.readLayer(r.layerPaths[i], info, opts.wants, opts.limits);
      // Kept only under the diff_id the bytes really have: a crafted config naming a popular
      // base layer's diff_id over other content must not plant its analysis for that layer.
      if (key && res.tarDigest === (info.diffId ?? diffIds?.[i]))
        cache!.put(key, { ...res, info: { index: -1 } });
    }
    progressLayerDone();
    return res;
  });
  const contents: LayerContent[] = [];
  for (const [i, info] of (opts.metadataOnly ? [] : r.layers).entries()) {
    const res: ReadLayerResult = results[i];
    verify(info, res);
    if (!info.digest) info.digest = res.blobDigest;
    info.size ??= res.blobBytes;
    r.warnings.push(...res.warnings.map((w) => `layer ${i + 1}: ${w}`));
    contents.push({ info, files: res.files, whiteouts: res.whiteouts, opaqueDirs: res.opaqueDirs });
  }

  const c = r.config.config ?? {};
  const metadata: ImageMetadata = {
    target,
    kind,
    name: r.name ?? target.replace(/^[a-z-]+:/, ''),
    repoTags: r.repoTags,
    manifestDigest: r.manifestDigest,
    configDigest: r.configDigest,
    os: r.config.os,
    architecture: r.config.architecture,
    variant: r.config.variant,
    created: r.config.created,
    labels: c.Labels ?? {},
    ...(r.annotations ? { annotations: r.annotations } : {}),
    history,
    layers: r.layers,
    config: {
      user: c.User,
      env: c.Env,
      entrypoint: c.Entrypoint,
      cmd: c.Cmd,
      exposedPorts: c.ExposedPorts ? Object.keys(c.ExposedPorts) : undefined,
      healthcheck: c.Healthcheck?.Test,
    },
    warnings: r.warnings,
  };
  return { metadata, layers: contents };
}

function verify(info: LayerInfo, res: ReadLayerResult): void {
  const n = info.index + 1;
  if (info.digest && info.digest.startsWith('sha256:') && info.digest !== res.blobDigest) {
    throw new CustomsError(
      `layer ${n} digest mismatch: the manifest says ${info.digest} but the blob is ${res.blobDigest}`,
    );
  }
  if (info.diffId && info.diffId.startsWith('sha256:') && info.diffId !== res.tarDigest) {
    throw new CustomsError(
      `layer ${n} diff_id mismatch: the config says ${info.diffId} but the uncompressed layer is ${res.tarDigest}`,
    );
  }
}
