import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomsError } from '../errors.js';
import { RegistryClient, type RegistryOptions } from '../image/registry/client.js';
import { DEFAULT_EXPIRY_MS, readBundle, sha256File, writeBundle, type DbManifest } from './bundle.js';
import { computeDelta, type DeltaStats } from './delta.js';
import {
  ARTIFACT_TYPE,
  BASE_VERSION_ANNOTATION,
  CONFIG_MEDIA_TYPE,
  DELTA_MEDIA_TYPE,
  FULL_MEDIA_TYPE,
  dbReference,
  fetchBlob,
  type ArtifactConfig,
} from './install.js';
import { keyId } from './signing.js';
import { SCHEMA_VERSION } from './store.js';

/**
 * The publisher's side: sign a full bundle, compute the delta from the version the repository
 * holds now, and push both as one OCI artifact under an immutable version tag and the moving
 * schema tag. Each version links to the one before, so a client walks back to its own version
 * and applies the deltas forward.
 */

export interface PublishOptions {
  keys: KeyObject[];
  registry?: RegistryOptions;
  /** The bundle of the version the repository holds now, to skip downloading it for the delta. */
  previous?: string;
  noDelta?: boolean;
  /** Keep this many versions reachable; older version manifests are deleted from the repository. */
  keep?: number;
  /** Sign anew with an expiry this long from now (default: keep the bundle's, 7 days when none). */
  expiresMs?: number;
  log?: (line: string) => void;
}

export interface PublishResult {
  status: 'published' | 'unchanged';
  reference: string;
  versionTag: string;
  digest: string;
  version: string;
  fullBytes: number;
  delta?: { bytes: number; base: string } & DeltaStats;
  /** Old versions deleted under --keep. */
  pruned?: number;
}

/** `1-2026-11-30T06-00-00.123Z`: the version as a tag (a tag cannot hold ':'). */
export function versionTag(version: string): string {
  return `${SCHEMA_VERSION}-${version.replace(/[^\w.-]/g, '-')}`;
}

const digestOf = async (file: string) => `sha256:${await sha256File(file)}`;

export async function publishDatabase(
  bundle: string,
  ref: string,
  opts: PublishOptions,
): Promise<PublishResult> {
  if (!opts.keys.length)
    throw new CustomsError('db publish needs --key: clients refuse an unsigned database');
  const parsed = dbReference(ref);
  if (parsed.digest) throw new CustomsError(`${ref}: publish to a tag, not a digest`);
  const repository = parsed.repository;
  const tag = parsed.tag!;
  const name = `${parsed.domain}/${repository}`;
  const work = mkdtempSync(join(tmpdir(), 'customs-publish-'));
  const client = new RegistryClient(parsed.domain, opts.registry);
  try {
    const newDb = join(work, 'new.db');
    const read = await readBundle(bundle, newDb, undefined, bundle);
    let manifest = read.manifest;
    if (manifest.kind !== 'full') throw new CustomsError(`${bundle} is a delta; publish a whole database`);

    // Sign: the bundle as given when it already carries every key's signature and an expiry, else
    // written anew. A new expiry changes the manifest's bytes, so the old signatures go with it.
    let full = bundle;
    const have = new Set(read.signatures.map((s) => s.keyId));
    if (opts.expiresMs !== undefined || !manifest.expires) {
      manifest = {
        ...manifest,
        expires: new Date(Date.now() + (opts.expiresMs ?? DEFAULT_EXPIRY_MS)).toISOString(),
      };
      full = join(work, 'full.tar.zst');
      await writeBundle(full, manifest, newDb, [], opts.keys);
    } else if (!opts.keys.every((k) => have.has(keyId(k)))) {
      full = join(work, 'full.tar.zst');
      await writeBundle(full, manifest, newDb, read.signatures, opts.keys, read.manifestBytes);
    }

    const current = await currentVersion(client, repository, tag);
    if (current && current.config.version === manifest.version) {
      return {
        status: 'unchanged',
        reference: `${name}:${tag}`,
        versionTag: versionTag(manifest.version),
        digest: current.digest,
        version: manifest.version,
        fullBytes: statSync(full).size,
      };
    }
    if (current && current.config.version > manifest.version)
      throw new CustomsError(
        `${name}:${tag} already holds version ${current.config.version}, newer than ${manifest.version}; refused`,
      );

    let delta: { file: string; base: string; stats: DeltaStats } | undefined;
    if (current && !opts.noDelta && current.config.schemaVersion === SCHEMA_VERSION) {
      let prevBundle = opts.previous;
      if (!prevBundle) {
        prevBundle = join(work, 'previous.tar.zst');
        await fetchBlob(client, repository, current.fullDigest, prevBundle, () => undefined, {
          size: current.fullSize,
        });
      }
      const prevDb = join(work, 'previous.db');
      const prev = await readBundle(prevBundle, prevDb, undefined, prevBundle);
      if (prev.manifest.version !== current.config.version)
        throw new CustomsError(
          `--previous is version ${prev.manifest.version}; ${name}:${tag} holds ${current.config.version}`,
        );
      const deltaDb = join(work, 'delta.db');
      const stats = computeDelta(prevDb, newDb, deltaDb);
      const dm: DbManifest = {
        ...manifest,
        kind: 'delta',
        baseVersion: prev.manifest.version,
        payload: { name: 'delta.db', size: statSync(deltaDb).size, sha256: await sha256File(deltaDb) },
      };
      const file = join(work, 'delta.tar.zst');
      await writeBundle(file, dm, deltaDb, [], opts.keys);
      delta = { file, base: prev.manifest.version, stats };
    }

    const config: ArtifactConfig = {
      version: manifest.version,
      schemaVersion: SCHEMA_VERSION,
      ...(current ? { previous: { version: current.config.version, manifest: current.digest } } : {}),
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const layers = [
      {
        mediaType: FULL_MEDIA_TYPE,
        digest: await digestOf(full),
        size: statSync(full).size,
        annotations: { 'org.opencontainers.image.title': 'customs-db.tar.zst' },
      },
      ...(delta
        ? [
            {
              mediaType: DELTA_MEDIA_TYPE,
              digest: await digestOf(delta.file),
              size: statSync(delta.file).size,
              annotations: {
                'org.opencontainers.image.title': 'customs-db-delta.tar.zst',
                [BASE_VERSION_ANNOTATION]: delta.base,
              },
            },
          ]
        : []),
    ];
    const files = [full, ...(delta ? [delta.file] : [])];
    for (const [i, l] of layers.entries())
      await client.pushBlob(repository, l.digest, l.size, () => createReadStream(files[i]));
    const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
    await client.pushBlob(repository, configDigest, configBytes.length, () => configBytes);
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: ARTIFACT_TYPE,
        config: { mediaType: CONFIG_MEDIA_TYPE, digest: configDigest, size: configBytes.length },
        layers,
        annotations: {
          'org.opencontainers.image.created': manifest.version,
          'vnd.customs.db.version': manifest.version,
        },
      }),
    );
    const vt = versionTag(manifest.version);
    const digest = await client.putManifest(
      repository,
      vt,
      body,
      'application/vnd.oci.image.manifest.v1+json',
    );
    await client.putManifest(repository, tag, body, 'application/vnd.oci.image.manifest.v1+json');
    const pruned = opts.keep ? await prune(client, repository, config, opts.keep, opts.log) : undefined;
    return {
      pruned,
      status: 'published',
      reference: `${name}:${tag}`,
      versionTag: vt,
      digest,
      version: manifest.version,
      fullBytes: layers[0].size,
      delta: delta ? { bytes: layers[1].size, base: delta.base, ...delta.stats } : undefined,
    };
  } finally {
    await client.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Delete the versions beyond the newest `keep` (following the previous links): clients that far
 * behind download the full artifact anyway, and the chain stays short.
 */
async function prune(
  client: RegistryClient,
  repository: string,
  newest: ArtifactConfig,
  keep: number,
  log?: (line: string) => void,
): Promise<number> {
  const old: string[] = [];
  let prev = newest.previous;
  for (let n = 1; prev && n < 1000; n++) {
    if (n >= keep) old.push(prev.manifest);
    const m = await client.tryManifest(repository, prev.manifest);
    if (!m) break;
    const doc = JSON.parse(m.body.toString('utf8')) as { config?: { digest?: string } };
    if (!doc.config?.digest) break;
    const config = JSON.parse(
      (await client.smallBlob(repository, doc.config.digest, 64 * 1024)).toString('utf8'),
    ) as ArtifactConfig;
    prev = config.previous;
  }
  let deleted = 0;
  for (const d of old) {
    if (await client.deleteManifest(repository, d)) deleted++;
    else {
      log?.(
        `customs: warning: ${client.domain}/${repository} does not allow deleting manifests; old versions are kept`,
      );
      break;
    }
  }
  return deleted;
}

async function currentVersion(client: RegistryClient, repository: string, tag: string) {
  const m = await client.tryManifest(repository, tag);
  if (!m) return undefined;
  const doc = JSON.parse(m.body.toString('utf8')) as {
    config?: { mediaType?: string; digest?: string };
    layers?: Array<{ mediaType?: string; digest?: string; size?: number }>;
  };
  if (doc.config?.mediaType !== CONFIG_MEDIA_TYPE || !doc.config.digest)
    throw new CustomsError(
      `${client.domain}/${repository}:${tag} holds something else than a Customs database; refused`,
    );
  const config = JSON.parse(
    (await client.smallBlob(repository, doc.config.digest, 64 * 1024)).toString('utf8'),
  ) as ArtifactConfig;
  const full = doc.layers?.find((l) => l.mediaType === FULL_MEDIA_TYPE);
  if (!full?.digest)
    throw new CustomsError(`${client.domain}/${repository}:${tag} has no full database layer`);
  const fullSize = typeof full.size === 'number' && full.size >= 0 ? full.size : undefined;
  return { digest: m.digest, config, fullDigest: full.digest, fullSize };
}
