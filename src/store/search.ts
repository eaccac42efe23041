import { storedRiskWords, type ScanFacts } from './results.js';
import type { Db } from './db.js';
import { isNewest } from './deployments.js';

/** What the fleet search reads: the finding index, package versions, names and where images run. */

export async function findingHits(db: Db, vulnerability: string, limit: number) {
  return db.k
    .selectFrom('finding_index')
    .select(['digest', 'package', 'version', 'vulnerability', 'severity'])
    .where('vulnerability', '=', vulnerability)
    .limit(limit)
    .execute();
}

/** Images holding a package (any version, or this one). */
export async function packageHits(db: Db, name: string, version: string | undefined, limit: number) {
  let qb = db.k
    .selectFrom('package_versions')
    .select(['digest', 'name as package', 'version'])
    .where('name', '=', name);
  if (version) qb = qb.where('version', '=', version);
  return qb.limit(limit).execute();
}

/** What a search hit says of the image's newest scan: grade, counts, and what it did not cover. */
export interface HitScan {
  grade: string;
  total: number;
  kev: number;
  risk: number;
  /** The risk in words, the image page's text (rank/explain.ts). */
  riskExplanation: string;
  /** The parts the database did not cover, each with its reason: then "0 findings" is no pass. */
  uncovered: string[];
}

/**
 * Each digest's names (registry/repository), the environments it runs in now and its newest scan,
 * 300 a query.
 */
export async function namesAndPlaces(
  db: Db,
  digests: string[],
): Promise<{
  names: Map<string, string[]>;
  running: Map<string, Set<string>>;
  scans: Map<string, HitScan>;
}> {
  const names = new Map<string, string[]>();
  const running = new Map<string, Set<string>>();
  const scans = new Map<string, HitScan>();
  for (let i = 0; i < digests.length; i += 300) {
    const chunk = digests.slice(i, i + 300);
    for (const r of await db.k
      .selectFrom('images')
      .select(['digest', 'registry', 'repository'])
      .where('digest', 'in', chunk)
      .execute())
      names.set(r.digest, [...(names.get(r.digest) ?? []), `${r.registry}/${r.repository}`]);
    const deps = await db.k
      .selectFrom('deployments as d')
      .select(['d.digest', 'd.environment'])
      .where('d.digest', 'in', chunk)
      .where(isNewest)
      .execute();
    for (const d of deps) running.set(d.digest, (running.get(d.digest) ?? new Set()).add(d.environment));
    const newest = await db.k
      .selectFrom('scans')
      .select(['digest', 'grade', 'total', 'kev', 'risk', 'tally'])
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('scans')
          .select((e) => e.fn.max('id').as('id'))
          .where('digest', 'in', chunk)
          .groupBy('digest'),
      )
      .execute();
    for (const r of newest) {
      const facts = (r.tally ? JSON.parse(r.tally) : {}) as Partial<ScanFacts>;
      scans.set(r.digest, {
        grade: r.grade,
        total: Number(r.total),
        kev: Number(r.kev),
        risk: Number(r.risk),
        riskExplanation: storedRiskWords(facts),
        // Rows written before the reasons were kept name the parts only.
        uncovered: facts.gaps ?? facts.uncovered ?? [],
      });
    }
  }
  return { names, running, scans };
}

/** Where a digest is known (registry, repository, tags as JSON). */
export async function imageRefs(db: Db, digest: string) {
  return db.k
    .selectFrom('images')
    .select(['registry', 'repository', 'tags'])
    .where('digest', '=', digest)
    .execute();
}

/** Every deployment to an environment, oldest first (its history by day). */
export async function deploymentsOf(db: Db, environment: string) {
  return db.k
    .selectFrom('deployments')
    .select(['registry', 'repository', 'namespace', 'service', 'digest', 'deployed_at'])
    .where('environment', '=', environment)
    .orderBy('id')
    .execute();
}

/** The counts of every scan of these digests, oldest first. */
export async function scanCounts(db: Db, digests: string[]) {
  return digests.length
    ? db.k
        .selectFrom('scans')
        .select(['digest', 'created_at', 'grade', 'critical', 'high', 'kev', 'total'])
        .where('digest', 'in', digests)
        .orderBy('id')
        .execute()
    : [];
}
