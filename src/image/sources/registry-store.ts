import { Readable } from 'node:stream';
import { CustomsError } from '../../errors.js';
import { readLayer, type ReadLayerResult, type Wants } from '../layer-reader.js';
import type { LayerCache } from '../layer-cache.js';
import type { Limits } from '../limits.js';
import type { LayerInfo } from '../model.js';
import type { RegistryClient } from '../registry/client.js';
import { formatReference, manifestRef, type ImageReference } from '../registry/reference.js';
import type { BlobStore } from './store.js';
import { interpretDocument, SBOM_MEDIA_TYPES, type AttestationWithDoc } from '../attestations.js';

interface Desc {
  mediaType?: string;
  digest?: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}
const IN_TOTO = 'application/vnd.in-toto+json';
const MAX_ATTESTATION = 64 * 1024 * 1024;
/**
 * A registry lists any number of referrers of an image (anyone with push rights adds some): a scan
 * reads the first few, with a warning, so a hostile index cannot turn one scan into thousands of
 * requests or hold gigabytes of documents.
 */
const MAX_REFERRERS = 32;
const MAX_ATTESTATION_DOCS = 32;
const MAX_ATTESTATION_BYTES = 128 * 1024 * 1024;

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * A registry seen as an OCI layout: `index.json` names the manifest the reference points at, and
 * `blobs/<alg>/<hex>` are fetched on demand (manifests from /manifests/, everything else from
 * /blobs/), so the layout resolver picks platforms and reads layers exactly as it does on disk.
 * Layers stream from the network straight into the layer reader, and into the layer cache.
 */
export class RegistryStore implements BlobStore {
  private readonly docs = new Map<string, Buffer>();
  private readonly manifests = new Set<string>();
  private index: Buffer | undefined;
  /** Digest and media type of what the reference points at (an index or a manifest). */
  top: { digest: string; mediaType: string } | undefined;
  /** Layers read from the cache, and downloaded. */
  readonly stats = { cachedLayers: 0, downloadedLayers: 0, downloadedBytes: 0 };

  constructor(
    private readonly client: RegistryClient,
    readonly ref: ImageReference,
    readonly input: string,
    private readonly cache?: LayerCache,
  ) {}

  async init(): Promise<void> {
    const m = await this.client.manifest(this.ref.repository, manifestRef(this.ref));
    this.remember(m.digest, m.body);
    this.top = { digest: m.digest, mediaType: m.mediaType };
    this.index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: m.mediaType,
            digest: m.digest,
            size: m.body.length,
            annotations: { [REF_NAME]: formatReference(this.ref) },
          },
        ],
      }),
    );
  }

  /** Keep a manifest and note which of the digests it names are manifests too. */
  private remember(digest: string, body: Buffer): void {
    this.docs.set(digest, body);
    this.manifests.add(digest);
    try {
      const j = JSON.parse(body.toString('utf8')) as { manifests?: Array<{ digest?: string }> };
      for (const d of j.manifests ?? []) if (typeof d.digest === 'string') this.manifests.add(d.digest);
    } catch {
      /* the resolver reports bad JSON */
    }
  }

  has(path: string): boolean {
    return path === 'index.json' || path.startsWith('blobs/');
  }

  private digestOf(path: string): string {
    const m = /^blobs\/([a-z0-9]+)\/([a-zA-Z0-9=_-]+)$/.exec(path);
    if (!m) throw new CustomsError(`not a blob path: ${path}`);
    return `${m[1]}:${m[2]}`;
  }

  async readSmall(path: string): Promise<Buffer> {
    if (path === 'index.json') {
      if (!this.index) await this.init();
      return this.index!;
    }
    const digest = this.digestOf(path);
    const known = this.docs.get(digest);
    if (known) return known;
    if (this.manifests.has(digest)) {
      const m = await this.client.manifest(this.ref.repository, digest);
      this.remember(digest, m.body);
      return m.body;
    }
    const body = await this.client.smallBlob(this.ref.repository, digest);
    this.docs.set(digest, body);
    return body;
  }

  async readLayer(path: string, info: LayerInfo, wants: Wants, limits: Limits): Promise<ReadLayerResult> {
    const digest = this.digestOf(path);
    const cached = this.cache?.open(digest);
    if (cached) {
      const res = await readLayer(cached, info, wants, limits);
      if (res.blobDigest === digest) {
        this.stats.cachedLayers++;
        return res;
      }
      // A damaged cache entry is dropped and the layer fetched again.
      this.cache!.remove(digest);
    }
    const writer = this.cache?.writer(digest);
    try {
      const res = await readLayer(Readable.from(this.tee(digest, writer, info.size)), info, wants, limits);
      this.stats.downloadedLayers++;
      this.stats.downloadedBytes += res.blobBytes;
      if (writer && res.blobDigest === digest) await writer.commit();
      else writer?.abort();
      return res;
    } catch (err) {
      writer?.abort();
      throw err;
    }
  }

  /**
   * SBOM and provenance attestations of one image manifest: BuildKit's attestation manifest in
   * the same index, and OCI referrers. What cannot be read becomes a warning, never a failure.
   */
  async attestations(imageDigest: string, warnings: string[]): Promise<AttestationWithDoc[]> {
    const out: AttestationWithDoc[] = [];
    const repo = this.ref.repository;
    let bytes = 0;
    let capped = false;
    const readLayers = async (
      manifestDigest: string,
      via: 'buildkit' | 'referrers',
      artifactType?: string,
    ) => {
      const m = JSON.parse(
        (await this.readSmall(`blobs/${manifestDigest.replace(':', '/')}`)).toString('utf8'),
      ) as {
        layers?: Desc[];
        artifactType?: string;
        config?: Desc;
      };
      const type = artifactType ?? m.artifactType ?? m.config?.mediaType;
      for (const l of m.layers ?? []) {
        if (!l.digest || (l.size ?? 0) > MAX_ATTESTATION) continue;
        const mt = l.mediaType ?? '';
        if (mt !== IN_TOTO && !SBOM_MEDIA_TYPES[mt] && !(type && SBOM_MEDIA_TYPES[type])) continue;
        if (out.length >= MAX_ATTESTATION_DOCS || bytes + (l.size ?? 0) > MAX_ATTESTATION_BYTES) {
          capped = true;
          return;
        }
        const body = await this.client.smallBlob(
          repo,
          l.digest,
          Math.min(MAX_ATTESTATION, MAX_ATTESTATION_BYTES - bytes),
        );
        bytes += body.length;
        let doc: unknown;
        try {
          doc = JSON.parse(body.toString('utf8'));
        } catch {
          warnings.push(`attestation ${l.digest} is not JSON; ignored`);
          continue;
        }
        out.push(interpretDocument(doc, via, l.digest, SBOM_MEDIA_TYPES[mt] ? mt : type));
      }
    };
    try {
      const top = this.top && this.docs.get(this.top.digest);
      const index = top ? (JSON.parse(top.toString('utf8')) as { manifests?: Desc[] }) : {};
      for (const d of index.manifests ?? []) {
        const a = d.annotations ?? {};
        if (
          a['vnd.docker.reference.type'] === 'attestation-manifest' &&
          a['vnd.docker.reference.digest'] === imageDigest &&
          d.digest
        )
          await readLayers(d.digest, 'buildkit');
      }
      const refs = await this.client.referrers(repo, imageDigest);
      const list = refs
        ? ((JSON.parse(refs.toString('utf8')) as { manifests?: Desc[] }).manifests ?? [])
        : [];
      const wanted = list.filter((d) => d.digest);
      if (wanted.length > MAX_REFERRERS) capped = true;
      for (const d of wanted.slice(0, MAX_REFERRERS)) {
        if (out.length >= MAX_ATTESTATION_DOCS) break;
        this.manifests.add(d.digest!);
        await readLayers(d.digest!, 'referrers', d.artifactType);
      }
    } catch (err) {
      warnings.push(`attestations of ${imageDigest} could not be read: ${(err as Error).message}`);
    }
    if (capped)
      warnings.push(
        `attestations of ${imageDigest}: only the first ${MAX_REFERRERS} referrers and ${MAX_ATTESTATION_DOCS} documents (${MAX_ATTESTATION_BYTES / 1024 / 1024} MiB) were read`,
      );
    return out;
  }

  private async *tee(
    digest: string,
    out: { write(c: Buffer): Promise<void> } | undefined,
    size?: number,
  ): AsyncGenerator<Buffer> {
    // The manifest's size bounds the download: a registry streaming past it is stopped at once.
    const bounds = typeof size === 'number' && size > 0 ? { size } : {};
    for await (const chunk of this.client.blob(this.ref.repository, digest, bounds)) {
      await out?.write(chunk);
      yield chunk;
    }
  }
}
