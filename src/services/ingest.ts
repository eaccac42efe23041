import { CustomsError } from '../errors.js';
import type { JobQueue } from '../model/jobs.js';
import type { Db } from '../store/db.js';
import { recordImage, type Provenance } from '../store/images.js';
import { storeReport, type StoredReport } from './reports.js';
import { findRegistry } from '../store/registries.js';
import { knownArtifacts } from '../store/attestations.js';
import { SIDECAR_TAG } from '../image/registry/artifact.js';
import { currentDbVersion as versionOf, requestScan, requestScans } from './scans.js';
import { DomainError } from './errors.js';

/**
 * State changes live here: routes validate and call these; nothing else writes the store.
 */
/** A push a registry told about (a webhook) or a poll found: where, and by digest or by tag. */
export interface PushEvent {
  registry: string;
  repository: string;
  digest?: string;
  tag?: string;
}

export interface Services {
  db: Db;
  queue: JobQueue;
  dbPath: string;
}

/** Push events from a webhook: every host must be a configured registry, else nothing is queued. */
export async function ingestPushes(
  s: Services,
  events: PushEvent[],
  source: string,
): Promise<{ queued: number }> {
  for (const host of new Set(events.map((e) => e.registry)))
    if (!(await findRegistry(s.db, host)))
      throw new DomainError(
        'forbidden',
        `registry ${host} is not configured on this server; nothing was queued`,
        'registry_not_configured',
      );
  const wanted = [];
  // The server's own referrers (pushed by digest, no tag to tell them by) are known by digest.
  const ours = await knownArtifacts(s.db, [...new Set(events.flatMap((e) => (e.digest ? [e.digest] : [])))]);
  for (const e of events) {
    // cosign signatures, attestations and SBOMs pushed beside an image are not images to scan.
    if (e.tag && SIDECAR_TAG.test(e.tag)) continue;
    if (e.digest && ours.has(e.digest)) continue;
    if (e.digest)
      await recordImage(s.db, {
        registry: e.registry,
        repository: e.repository,
        digest: e.digest,
        tag: e.tag,
      });
    wanted.push({ ...e, source });
  }
  const out = await requestScans(s, wanted, currentDbVersion(s));
  return { queued: out.filter((o) => o.scan || o.match).length };
}

export function currentDbVersion(s: Services): string {
  return versionOf(s.dbPath);
}

/** Where report bytes are parsed and stored: a worker thread on the server (see offload.ts). */
/** A report body as the ingest route hands it over: chunks, each owning its buffer. */
export type ReportStorer = (chunks: Uint8Array[], by: string) => Promise<StoredReport>;

/**
 * A CI upload: the inventory is kept (as reported, unless the server read the image itself) and
 * re-matched with the server's own database, so results from every pipeline compare; when the
 * image lives in a configured registry, the server queues its own scan, which supersedes it.
 */
export async function ingestReport(
  s: Services,
  chunks: Uint8Array[],
  by: string,
  store: ReportStorer = (c, who) => storeReport(s.db, Buffer.concat(c), who),
): Promise<{ digest: string; queued: boolean; serverScanQueued: boolean; provenance: Provenance }> {
  let r: StoredReport;
  try {
    r = await store(chunks, by);
  } catch (err) {
    if (err instanceof CustomsError || (err as Error)?.name === 'CustomsError') {
      const message = (err as Error).message;
      // The same code as every other JSON body too deep to walk (server/json-body.ts).
      const code = /nests deeper than/.test(message)
        ? 'too_deep'
        : /is not valid JSON/.test(message)
          ? 'malformed_json'
          : 'invalid_request';
      throw new DomainError('invalid', message, code);
    }
    throw err;
  }
  await recordImage(s.db, { registry: r.registry, repository: r.repository, digest: r.digest, tag: r.tag });
  const q = await requestScan(
    s,
    {
      digest: r.digest,
      registry: r.registry,
      repository: r.repository,
      source: 'ci',
      context: r.context,
    },
    currentDbVersion(s),
  );
  return {
    digest: r.digest,
    queued: q.match || q.scan,
    serverScanQueued: q.scan,
    provenance: r.provenance,
  };
}
