import { createHash } from 'node:crypto';
import { jobKey, type JobQueue } from '../jobs/queue.js';
import { dbVersion } from '../jobs/scan-job.js';
import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import type { ImageMetadata } from '../image/model.js';
import { parseReference } from '../image/registry/reference.js';
import type { Db } from '../store/db.js';
import { recordImage, saveInventory } from '../store/images.js';
import { findRegistry } from '../store/registries.js';
import { HttpError } from './errors.js';
import type { PushEvent } from './webhooks/types.js';

/**
 * State changes live here: routes validate and call these; nothing else writes the store.
 */
export interface Services {
  db: Db;
  queue: JobQueue;
  dbPath: string;
}

/** Tags cosign and the OCI referrers fallback give artifacts about an image (`sha256-<hex>[.sig]`). */
const SIDECAR_TAG = /^sha256-[a-f0-9]{64}(\.(sig|att|sbom))?$/;

/** Push events from a webhook: every host must be a configured registry, else nothing is queued. */
export async function ingestPushes(
  s: Services,
  events: PushEvent[],
  source: string,
): Promise<{ queued: number }> {
  for (const host of new Set(events.map((e) => e.registry)))
    if (!(await findRegistry(s.db, host)))
      throw new HttpError(
        403,
        'registry_not_configured',
        `registry ${host} is not configured on this server; nothing was queued`,
      );
  const version = currentDbVersion(s);
  let queued = 0;
  for (const e of events) {
    // cosign signatures, attestations and SBOMs pushed beside an image are not images to scan.
    if (e.tag && SIDECAR_TAG.test(e.tag)) continue;
    if (e.digest)
      await recordImage(s.db, {
        registry: e.registry,
        repository: e.repository,
        digest: e.digest,
        tag: e.tag,
      });
    const job = {
      kind: 'scan' as const,
      registry: e.registry,
      repository: e.repository,
      digest: e.digest,
      tag: e.tag,
      source,
    };
    if (await s.queue.enqueue(job, jobKey(job, version))) queued++;
  }
  return { queued };
}

export function currentDbVersion(s: Services): string {
  try {
    return dbVersion(s.dbPath);
  } catch {
    return 'none';
  }
}

export interface Report {
  /** `source`: where the client read the image (registry, docker daemon, local archive, local folder, sbom). */
  image: ImageMetadata & { source?: string };
  os?: OsInfo;
  packages: Package[];
  context?: { repository?: string; commit?: string; pipelineUrl?: string; environment?: string };
}

/**
 * A CI upload: the inventory is kept and re-matched with the server's own database (so results
 * from every pipeline compare), keyed by the image digest.
 */
export async function ingestReport(s: Services, r: Report): Promise<{ digest: string; queued: boolean }> {
  const digest =
    r.image.manifestDigest ??
    r.image.configDigest ??
    `sha256:${createHash('sha256')
      .update(JSON.stringify(r.packages.map((p) => p.purl).sort()))
      .digest('hex')}`;
  if (!/^sha256:[a-f0-9]{64}$/.test(digest))
    throw new HttpError(400, 'invalid_request', `bad image digest ${digest}`);
  // A local archive or folder (the client says `image.source`) came from no registry: it keeps its
  // own name under the pseudo-registry "local" instead of being read as docker.io/<tag>.
  const local = !r.context?.repository && /^local /.test(String(r.image.source ?? ''));
  const named = local ? undefined : (r.context?.repository ?? r.image.repoTags?.[0]);
  let registry = local ? 'local' : 'ci';
  let repository = r.image.name || 'unnamed';
  let tag: string | undefined;
  if (local) {
    const m = /^(.+?):([\w][\w.-]{0,127})$/.exec(repository);
    if (m && !m[1].endsWith('/')) [repository, tag] = [m[1], m[2]];
  }
  if (named) {
    try {
      const ref = parseReference(named);
      registry = ref.domain;
      repository = ref.repository;
      tag = ref.tag;
    } catch {
      repository = named;
    }
  }
  await saveInventory(s.db, digest, { image: r.image, os: r.os, packages: r.packages, warnings: [] });
  await recordImage(s.db, { registry, repository, digest, tag });
  const context = Object.fromEntries(
    Object.entries(r.context ?? {}).filter(([, v]) => typeof v === 'string'),
  ) as Record<string, string>;
  const job = { kind: 'match' as const, digest, source: 'ci', context };
  const queued = await s.queue.enqueue(job, jobKey(job, currentDbVersion(s)));
  return { digest, queued };
}
