import { CustomsError } from '../errors.js';
import { RegistryClient } from '../image/registry/client.js';
import type { Db } from '../store/db.js';
import { findRegistry, registrySecrets } from '../store/registries.js';
import type { SecretBox } from '../store/secret-box.js';
import { noteWatchError, takeDueWatches, type WatchRecord } from '../store/watches.js';
import { ingestPushes, type Services } from '../services/ingest.js';
import { tagsOf } from '../store/images.js';

/** Tags read per poll of one repository: a bound on the manifest requests one poll makes. */
const MAX_TAGS = 500;

/**
 * Registries without webhooks: each watched repository's tag list is read on its interval, and
 * every tag that now names a digest the server has not seen under that tag is ingested like a push.
 */
export async function pollWatch(s: Services & { box: SecretBox }, w: WatchRecord): Promise<number> {
  const reg = await findRegistry(s.db, w.registry);
  if (!reg) throw new CustomsError(`registry ${w.registry} is no longer configured`);
  const secrets = (await registrySecrets(s.db, s.box, w.registry)) ?? {};
  const client = new RegistryClient(w.registry, {
    insecure: reg.record.insecure,
    retries: 1,
    timeoutMs: 30_000,
    dockerConfig: '/nonexistent',
    credentials:
      secrets.username || secrets.password
        ? { username: secrets.username, password: secrets.password, source: 'the server registry settings' }
        : undefined,
  });
  let queued = 0;
  try {
    const tags = (await client.tags(w.repository))
      .filter((t) => !/^sha256-[a-f0-9]{64}(\.\w+)?$/.test(t))
      .slice(0, MAX_TAGS);
    for (const tag of tags) {
      const { digest } = await client.manifest(w.repository, tag);
      if (await knownUnderTag(s.db, w, digest, tag)) continue;
      queued += (
        await ingestPushes(s, [{ registry: w.registry, repository: w.repository, digest, tag }], 'poll')
      ).queued;
    }
  } finally {
    await client.close();
  }
  return queued;
}

async function knownUnderTag(db: Db, w: WatchRecord, digest: string, tag: string): Promise<boolean> {
  return (await tagsOf(db, w.registry, w.repository, digest)).includes(tag);
}

/** Poll due watches every few seconds in the background; one poll at a time. */
export function startPoller(
  s: Services & { box: SecretBox },
  log: (msg: string, fields?: object) => void,
  everyMs = 2000,
): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const w of await takeDueWatches(s.db)) {
        try {
          const queued = await pollWatch(s, w);
          await noteWatchError(s.db, w.id, null);
          if (queued) log('watch found new tags', { registry: w.registry, repository: w.repository, queued });
        } catch (err) {
          const msg = err instanceof CustomsError ? err.line() : (err as Error).message;
          await noteWatchError(s.db, w.id, msg).catch(() => {});
          log('watch poll failed', { registry: w.registry, repository: w.repository, error: msg });
        }
      }
    } catch {
      /* the store is unavailable for a moment: try at the next tick */
    } finally {
      busy = false;
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
