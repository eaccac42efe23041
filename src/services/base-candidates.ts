import { candidateTags, rankBases, type BaseCandidate } from '../advise/advise.js';
import { RegistryClient } from '../image/registry/client.js';
import { parseReference } from '../image/registry/reference.js';
import type { ScanResult } from '../model/scan.js';
import { distroRepositories, newestScanRow } from '../store/images.js';
import { registryOptions } from '../store/registries.js';
import { resultOfRow } from '../store/results.js';
import type { SecretBox } from '../store/secret-box.js';
import { scanStamp } from '../store/verdicts.js';
import { compareDotted } from '../versions/dotted.js';
import { ingestPushes, type Services } from './ingest.js';

/**
 * Newer base images for an image, found in the registries this server is configured for: the
 * version tags of repositories named after the image's distribution (and of the base its OCI
 * base-name label names), each tag's newest scan ranked by the findings it would remove
 * (`advise.ts#rankBases`). A tag not scanned yet is queued like a push and shows next time.
 */

export const BASE_LIMITS = {
  /** Repositories looked in per image. */
  repositories: 4,
  /** Tags read from one repository's list (a bound on the listing, not on the registry). */
  tagsListed: 1000,
  /** Candidate tags per repository (the newest version tags at or above the image's release). */
  tagsPerRepository: 5,
  /** Registry requests stop starting after this; one slow request costs at most `requestMs` more. */
  budgetMs: 8_000,
  requestMs: 5_000,
  /** Answers are kept this long per image and database version; with scans pending, briefly. */
  cacheMs: 10 * 60_000,
  pendingCacheMs: 15_000,
  cacheEntries: 500,
  /** Candidates answered, and findings listed per candidate. */
  shown: 5,
  removedShown: 20,
};

export interface BaseCandidates {
  candidates: BaseCandidate[];
  /** Repositories looked in (registry/repository). */
  looked: string[];
  /** Candidate references queued for a scan: they are ranked once scanned. */
  pending: string[];
  /**
   * Candidate references not scanned yet and not queued: the asker may not request scans (a
   * viewer's visit must not start work in the registries; someone who may report queues them).
   */
  unscanned: string[];
  /** What could not be read (a registry that refused its tag list, the time budget). */
  problems: string[];
}

const cache = new Map<string, { at: number; ttl: number; value: BaseCandidates; waiting: string[] }>();

const BASE_LABEL = 'org.opencontainers.image.base.name';

/** The image's release as a tag of the depth base images use (`3.7.3` → `3.7`, `12.5` → `12`). */
function releaseTag(id: string, version: string): string {
  const parts = version.split('.');
  return parts.slice(0, id === 'alpine' || id === 'ubuntu' ? 2 : 1).join('.');
}

export async function baseCandidates(
  s: Services & { box: SecretBox },
  digest: string,
  r: ScanResult,
  baseLayers: number,
  /** Whether the asker may request scans (the `report` permission): only then are tags queued. */
  o: { queue: boolean },
): Promise<BaseCandidates> {
  const os = r.os;
  // Per asker's right to queue: a viewer's answer (nothing queued) is not served to a developer.
  const key = `${digest}|${r.database?.version ?? ''}|${o.queue ? 'queue' : 'look'}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < hit.ttl && !(await anyScanned(s, hit.waiting))) return hit.value;
  const out: BaseCandidates = { candidates: [], looked: [], pending: [], unscanned: [], problems: [] };
  const waiting: string[] = [];
  if (!os?.id || !os.version) return out;
  const started = Date.now();
  const mine = releaseTag(os.id, os.version);
  const repos: Array<{ registry: string; repository: string; from: string }> = (
    await distroRepositories(s.db, os.id, BASE_LIMITS.repositories)
  ).map((x) => ({ ...x, from: mine }));
  // The base the image names itself comes first (from its own tag), when its registry is configured here.
  const named = r.image.annotations?.[BASE_LABEL] ?? r.image.labels?.[BASE_LABEL];
  if (named) {
    try {
      const ref = parseReference(named);
      repos.unshift({ registry: ref.domain, repository: ref.repository, from: ref.tag ?? mine });
    } catch {
      /* a label that is not a reference names nothing */
    }
  }
  const results: ScanResult[] = [];
  const seen = new Set<string>();
  for (const repo of repos.slice(0, BASE_LIMITS.repositories)) {
    const name = `${repo.registry}/${repo.repository}`;
    if (seen.has(name)) continue;
    seen.add(name);
    if (Date.now() - started > BASE_LIMITS.budgetMs) {
      out.problems.push(`stopped after ${BASE_LIMITS.budgetMs / 1000} s: ${name} was not looked in`);
      continue;
    }
    const opts = await registryOptions(s.db, s.box, repo.registry);
    if (!opts) continue; // only registries an admin configured are ever asked
    out.looked.push(name);
    const client = new RegistryClient(repo.registry, {
      ...opts,
      retries: 0,
      timeoutMs: BASE_LIMITS.requestMs,
    });
    try {
      const tags = candidateTags(
        repo.from,
        await client.tags(repo.repository, BASE_LIMITS.tagsListed),
        BASE_LIMITS.tagsPerRepository,
      );
      for (const tag of tags) {
        if (Date.now() - started > BASE_LIMITS.budgetMs) break;
        const { digest: d } = await client.manifest(repo.repository, tag);
        if (d === digest) continue;
        const row = await newestScanRow(s.db, d);
        if (!row) {
          waiting.push(d);
          if (!o.queue) {
            out.unscanned.push(`${name}:${tag}`);
            continue;
          }
          await ingestPushes(
            s,
            [{ registry: repo.registry, repository: repo.repository, digest: d, tag }],
            'base-candidates',
          );
          out.pending.push(`${name}:${tag}`);
          continue;
        }
        const c = (await resultOfRow(s.db, row)) as ScanResult;
        // Same distribution, a release at or above the image's own: a way forward, not back.
        if (c.os?.id !== os.id || !c.os.version || compareDotted(c.os.version, os.version) < 0) continue;
        results.push({ ...c, image: { ...c.image, name: `${name}:${tag}` } });
      }
    } catch (err) {
      out.problems.push(`${name}: ${(err as Error).message}`);
    } finally {
      await client.close();
    }
  }
  out.candidates = rankBases(r, results, baseLayers)
    .slice(0, BASE_LIMITS.shown)
    .map((c) => ({ ...c, removed: c.removed.slice(0, BASE_LIMITS.removedShown) }));
  if (cache.size >= BASE_LIMITS.cacheEntries) cache.delete(cache.keys().next().value!);
  cache.set(key, {
    at: Date.now(),
    ttl: waiting.length || out.problems.length ? BASE_LIMITS.pendingCacheMs : BASE_LIMITS.cacheMs,
    value: out,
    waiting,
  });
  return out;
}

/** Whether a tag the kept answer waits for has been scanned since: then it is answered anew. */
async function anyScanned(s: Services, digests: string[]): Promise<boolean> {
  for (const d of digests) if (await scanStamp(s.db, d)) return true;
  return false;
}
