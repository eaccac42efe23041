import { resultOfRow, storedRiskWords, type ScanFacts } from './results.js';
import type { ScanResult } from '../model/scan.js';
import type { ExpressionBuilder } from 'kysely';
import { now, type Db } from './db.js';
import type { Tables } from './schema.js';
import { findingChanges } from './finding-events.js';
import { loadInventory, recordImage } from './images.js';
import { compareScans } from '../compare/compare.js';
import { sql } from 'kysely';
import { staleVerdicts } from './verdicts.js';

/** Environments and what is deployed in them. */

export interface Environment {
  name: string;
  exposure: 'internet' | 'internal';
}

export async function environments(db: Db): Promise<Environment[]> {
  return (await db.k
    .selectFrom('environments')
    .select(['name', 'exposure'])
    .orderBy('name')
    .execute()) as Environment[];
}

export async function findEnvironment(db: Db, name: string): Promise<Environment | undefined> {
  return (await db.k
    .selectFrom('environments')
    .select(['name', 'exposure'])
    .where('name', '=', name)
    .executeTakeFirst()) as Environment | undefined;
}

export async function putEnvironment(db: Db, e: Environment): Promise<void> {
  await db.k
    .insertInto('environments')
    .values({ ...e, created_at: now() })
    .onConflict((oc) => oc.column('name').doUpdateSet({ exposure: e.exposure }))
    .execute();
}

/** An environment's stored gate settings (JSON; gate/settings.ts adds the defaults). */
export async function gateJsonOf(db: Db, name: string): Promise<{ gate: string | null } | undefined> {
  return db.k.selectFrom('environments').select(['gate']).where('name', '=', name).executeTakeFirst();
}

export async function allGateJson(db: Db): Promise<Array<{ name: string; gate: string | null }>> {
  return db.k.selectFrom('environments').select(['name', 'gate']).execute();
}

/** An environment's gate settings, as JSON (gate/settings.ts reads them with their defaults). */
export async function setGateJson(db: Db, name: string, gate: string): Promise<void> {
  await db.k.updateTable('environments').set({ gate }).where('name', '=', name).execute();
  await staleVerdicts(db, { environments: [name] });
}

/** The environments a digest runs in now (it is the newest deployment of its workload there). */
export async function runningIn(db: Db, digest: string): Promise<string[]> {
  const rows = await db.k
    .selectFrom('deployments as d')
    .select('d.environment')
    .where('d.digest', '=', digest)
    .where(isNewest)
    .execute();
  return rows.map((r) => r.environment);
}

/** The environments (name, exposure) a digest runs in now. */
export async function exposuresOf(
  db: Db,
  digest: string,
): Promise<Array<{ name: string; exposure: string }>> {
  return db.k
    .selectFrom('deployments as d')
    .innerJoin('environments as e', 'e.name', 'd.environment')
    .select(['e.name', 'e.exposure'])
    .where('d.digest', '=', digest)
    .where(isNewest)
    .execute();
}

/** Every running digest with the environments (name, exposure) it runs in: one query for a fleet. */
export async function allExposures(
  db: Db,
): Promise<Array<{ digest: string; name: string; exposure: string }>> {
  return db.k
    .selectFrom('deployments as d')
    .innerJoin('environments as e', 'e.name', 'd.environment')
    .select(['d.digest', 'e.name', 'e.exposure'])
    .where(isNewest)
    .execute();
}

export interface DeploymentInput {
  environment: string;
  registry: string;
  repository: string;
  digest: string;
  namespace?: string;
  service?: string;
  source: string;
}

const deploymentRow = (d: DeploymentInput, at: string) => ({
  environment: d.environment,
  registry: d.registry,
  repository: d.repository,
  digest: d.digest,
  namespace: d.namespace ?? '',
  service: d.service ?? '',
  source: d.source,
  deployed_at: at,
  ended_at: null,
});

export async function recordDeployment(db: Db, d: DeploymentInput): Promise<number> {
  const r = await db.k
    .insertInto('deployments')
    .values(deploymentRow(d, now()))
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

/** Many deployments at once (seeding a store: the fleet benches), in batches of 1,000 rows. */
export async function recordDeployments(db: Db, ds: DeploymentInput[]): Promise<void> {
  const at = now();
  for (let i = 0; i < ds.length; i += 1000)
    await db.k
      .insertInto('deployments')
      .values(ds.slice(i, i + 1000).map((d) => deploymentRow(d, at)))
      .execute();
}

/**
 * Record a deployment unless the same digest is already the newest one of its repository,
 * namespace and service in that environment (the admission webhook and the cluster inventory see
 * the same workload again and again). True when a deployment was recorded.
 */
export async function recordIfChanged(db: Db, d: DeploymentInput): Promise<boolean> {
  const newest = await db.k
    .selectFrom('deployments')
    .select(['id', 'digest', 'ended_at'])
    .where('environment', '=', d.environment)
    .where('registry', '=', d.registry)
    .where('repository', '=', d.repository)
    .where('namespace', '=', d.namespace ?? '')
    .where('service', '=', d.service ?? '')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (newest?.digest === d.digest) {
    if (!newest.ended_at) return false;
    // Seen running again (a pass caught it between Pods): it never stopped being the deployment.
    await db.k.updateTable('deployments').set({ ended_at: null }).where('id', '=', newest.id).execute();
    return true;
  }
  await recordImage(db, { registry: d.registry, repository: d.repository, digest: d.digest });
  await recordDeployment(db, d);
  return true;
}

/**
 * For a query over `deployments as d`: the row is the newest deployment of its repository,
 * namespace and service in its environment, and has not ended: i.e. what runs there now.
 */
export const isNewest = (eb: ExpressionBuilder<DB & { d: Tables['deployments'] }, 'd'>) =>
  eb
    .not(
      eb.exists(
        eb
          .selectFrom('deployments as n')
          .select('n.id')
          .whereRef('n.environment', '=', 'd.environment')
          .whereRef('n.registry', '=', 'd.registry')
          .whereRef('n.repository', '=', 'd.repository')
          .whereRef('n.namespace', '=', 'd.namespace')
          .whereRef('n.service', '=', 'd.service')
          .whereRef('n.id', '>', 'd.id'),
      ),
    )
    .and('d.ended_at', 'is', null);
type DB = Tables;

/** The newest scan of a digest: summary columns and the result (findings). */
async function latestScan(db: Db, digest: string) {
  return db.k
    .selectFrom('scans')
    .selectAll()
    .where('digest', '=', digest)
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/** The summary columns of a scan row (no result blob), as the environment pages show them. */
type ScanSummaryRow = {
  grade: string;
  tally: string | null;
  risk: number | string;
  db_version: string;
  created_at: string;
  critical: number | string;
  high: number | string;
  medium: number | string;
  low: number | string;
  unknown: number | string;
  kev: number | string;
  fixable: number | string;
  total: number | string;
};

function summaryOf(s: ScanSummaryRow | undefined) {
  if (!s) return null;
  const tally = s.tally ? (JSON.parse(s.tally) as Partial<ScanFacts> & { uncovered?: string[] }) : {};
  return {
    grade: s.grade,
    // The parts of the image its database did not cover: the grade is marked "not covered".
    uncovered: tally.uncovered ?? [],
    risk: Number(s.risk),
    // The risk in words, the image page's text (kept with the scan: no findings read here).
    riskExplanation: storedRiskWords(tally),
    dbVersion: s.db_version,
    scannedAt: s.created_at,
    counts: {
      critical: Number(s.critical),
      high: Number(s.high),
      medium: Number(s.medium),
      low: Number(s.low),
      unknown: Number(s.unknown),
      kev: Number(s.kev),
      fixable: Number(s.fixable),
      total: Number(s.total),
    },
  };
}

/**
 * The newest scan id per digest running now (in `environment`, or anywhere), as a derived table
 * `m(digest, id)`: one grouped read instead of a query per workload (the N+1 that made an
 * environment's page take 0.7 s at 1,000 workloads on PostgreSQL).
 */
const newestRunningScan = (db: Db, environment: string | undefined) =>
  db.k
    .selectFrom('scans as l')
    .select(['l.digest', (e) => e.fn.max('l.id').as('id')])
    .where('l.digest', 'in', (e) => {
      const q = e.selectFrom('deployments as r').select('r.digest').where('r.ended_at', 'is', null);
      return environment === undefined ? q : q.where('r.environment', '=', environment);
    })
    .groupBy('l.digest')
    .as('m');

/**
 * What runs in an environment now: the newest deployment per repository, namespace and service.
 * With `worst`, the first `worst` of them worst first (KEV, then critical findings, then risk), as
 * the environment's page lists them: sorted and cut in the query, not after reading every row.
 */
export async function running(db: Db, environment: string, worst?: number) {
  let q = db.k
    .selectFrom('deployments as d')
    .leftJoin(newestRunningScan(db, environment), (j) => j.onRef('m.digest', '=', 'd.digest'))
    .leftJoin('scans as s', 's.id', 'm.id')
    .select([
      'd.registry',
      'd.repository',
      'd.digest',
      'd.namespace',
      'd.service',
      'd.deployed_at',
      's.id as scan_id',
      's.grade',
      's.tally',
      's.risk',
      's.db_version',
      's.created_at',
      's.critical',
      's.high',
      's.medium',
      's.low',
      's.unknown',
      's.kev',
      's.fixable',
      's.total',
    ])
    .where('d.environment', '=', environment)
    .where(isNewest);
  if (worst !== undefined)
    q = q
      .orderBy(sql`coalesce(s.kev, 0)`, 'desc')
      .orderBy(sql`coalesce(s.critical, 0)`, 'desc')
      .orderBy(sql`coalesce(s.risk, 0)`, 'desc')
      .limit(worst);
  const rows = await q.orderBy('d.repository').orderBy('d.id').execute();
  return rows.map((r) => ({
    image: `${r.registry}/${r.repository}@${r.digest}`,
    registry: r.registry,
    repository: r.repository,
    digest: r.digest,
    namespace: r.namespace || null,
    service: r.service || null,
    deployedAt: r.deployed_at,
    scan: r.scan_id == null ? null : summaryOf(r as ScanSummaryRow),
  }));
}

/** How many workloads run in an environment now. */
export async function runningCount(db: Db, environment: string): Promise<number> {
  const r = await db.k
    .selectFrom('deployments as d')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('d.environment', '=', environment)
    .where(isNewest)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Per environment, what runs there now counted by the grade of its newest scan (null: not
 * scanned), with the KEV and critical findings summed: the environment list in one grouped query.
 */
export async function runningTallies(
  db: Db,
): Promise<
  Array<{ environment: string; grade: string | null; images: number; kev: number; critical: number }>
> {
  const rows = await db.k
    .selectFrom('deployments as d')
    .leftJoin(newestRunningScan(db, undefined), (j) => j.onRef('m.digest', '=', 'd.digest'))
    .leftJoin('scans as s', 's.id', 'm.id')
    .select((eb) => [
      'd.environment',
      's.grade',
      eb.fn.countAll().as('images'),
      eb.fn.sum('s.kev').as('kev'),
      eb.fn.sum('s.critical').as('critical'),
    ])
    .where(isNewest)
    .groupBy(['d.environment', 's.grade'])
    .execute();
  return rows.map((r) => ({
    environment: r.environment,
    grade: r.grade ?? null,
    images: Number(r.images),
    kev: Number(r.kev ?? 0),
    critical: Number(r.critical ?? 0),
  }));
}

/**
 * What `history` of an environment depends on, in one short string: its deployments (newest id,
 * latest end, how many ended) and the newest scan (a new result changes the grades it shows).
 */
export async function historyStamp(db: Db, environment: string): Promise<string> {
  const d = await db.k
    .selectFrom('deployments')
    .select((eb) => [
      eb.fn.max('id').as('id'),
      eb.fn.max('ended_at').as('ended'),
      eb.fn.count('ended_at').as('n'),
    ])
    .where('environment', '=', environment)
    .executeTakeFirst();
  const s = await db.k
    .selectFrom('scans')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return `${d?.id ?? ''}|${d?.ended ?? ''}|${d?.n ?? ''}|${s?.id ?? ''}`;
}

/**
 * Every deployment in an environment, oldest first, with its image's grade and what it changed
 * against the previous deployment of the same repository (findings introduced and fixed).
 */
export async function history(db: Db, environment: string, limit = 500) {
  const rows = await db.k
    .selectFrom('deployments')
    .selectAll()
    .where('environment', '=', environment)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  rows.reverse();
  const results = new Map<string, ScanResult | undefined>();
  const resultOf = async (digest: string) => {
    if (!results.has(digest)) {
      const s = await latestScan(db, digest);
      // With its packages, so the change also says what was added, removed and upgraded.
      results.set(
        digest,
        s
          ? { ...(await resultOfRow(db, s)), packages: (await loadInventory(db, digest))?.packages ?? [] }
          : undefined,
      );
    }
    return results.get(digest);
  };
  const lastByRepo = new Map<string, string>();
  const out = [];
  for (const r of rows) {
    const key = `${r.registry}/${r.repository}\u0000${r.namespace}\u0000${r.service}`;
    const prev = lastByRepo.get(key);
    lastByRepo.set(key, r.digest);
    const now = await resultOf(r.digest);
    const before = prev ? await resultOf(prev) : undefined;
    const change =
      prev && now && before
        ? (() => {
            const c = findingChanges(before, now);
            const cmp = compareScans(before, now);
            return {
              previous: prev,
              introduced: c.introduced.length,
              fixed: c.fixed.length,
              packages: {
                added: cmp.packages.added.length,
                removed: cmp.packages.removed.length,
                changed: cmp.packages.changed.length,
              },
              baseImageChanged: cmp.baseImageChanged,
            };
          })()
        : prev
          ? { previous: prev, introduced: null, fixed: null }
          : null;
    out.push({
      deployedAt: r.deployed_at,
      endedAt: r.ended_at,
      image: `${r.registry}/${r.repository}@${r.digest}`,
      repository: r.repository,
      digest: r.digest,
      namespace: r.namespace || null,
      service: r.service || null,
      scan: summaryOf(await latestScan(db, r.digest)),
      change,
    });
  }
  return out;
}

/**
 * End the deployments a cluster inventory pass no longer sees running: those recorded from the
 * cluster (by the inventory or the admission webhook) in a namespace the inventory covers.
 * `seen` holds `environment|registry/repository|namespace|service` of every running workload.
 */
export async function endUnseen(
  db: Db,
  seen: Set<string>,
  covers: (namespace: string, environment: string) => boolean,
): Promise<number> {
  const rows = await db.k
    .selectFrom('deployments as d')
    .select(['d.id', 'd.environment', 'd.registry', 'd.repository', 'd.namespace', 'd.service'])
    .where('d.source', 'in', ['kubernetes', 'admission'])
    .where(isNewest)
    .execute();
  const gone = rows.filter(
    (r) =>
      covers(r.namespace, r.environment) &&
      !seen.has(`${r.environment}|${r.registry}/${r.repository}|${r.namespace}|${r.service}`),
  );
  if (gone.length)
    await db.k
      .updateTable('deployments')
      .set({ ended_at: now() })
      .where(
        'id',
        'in',
        gone.map((r) => r.id),
      )
      .execute();
  return gone.length;
}

/**
 * Everything running now in every environment, in one query: the workload, the image's tags in
 * its repository, the summary columns of its newest scan, and its stored verdict if any.
 */
export async function runningWithVerdicts(db: Db) {
  const rows = await db.k
    .selectFrom('deployments as d')
    .leftJoin('images as i', (j) =>
      j
        .onRef('i.registry', '=', 'd.registry')
        .onRef('i.repository', '=', 'd.repository')
        .onRef('i.digest', '=', 'd.digest'),
    )
    // The newest scan per running digest, as a derived table: a correlated subquery in the join
    // condition was evaluated per pair of rows on PostgreSQL (1.2 s at 2,000 workloads).
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('scans as l')
          .select(['l.digest', (e) => e.fn.max('l.id').as('id')])
          .where('l.digest', 'in', (e) =>
            e.selectFrom('deployments as r').select('r.digest').where('r.ended_at', 'is', null),
          )
          .groupBy('l.digest')
          .as('m'),
      (j) => j.onRef('m.digest', '=', 'd.digest'),
    )
    .leftJoin('scans as s', 's.id', 'm.id')
    .leftJoin('verdicts as v', (j) =>
      j
        .onRef('v.environment', '=', 'd.environment')
        .onRef('v.digest', '=', 'd.digest')
        .on('v.repository', '=', sql<string>`d.registry || '/' || d.repository`),
    )
    .select([
      'd.environment',
      'd.registry',
      'd.repository',
      'd.digest',
      'd.namespace',
      'd.service',
      'd.deployed_at',
      'd.source',
      'i.tags',
      's.id as scan_id',
      's.created_at as scan_at',
      's.grade',
      's.risk',
      's.critical',
      's.high',
      's.kev',
      's.fixable',
      's.total',
      's.tally',
      's.db_version',
      's.provenance_kind',
      's.provenance_by',
      'v.scan_id as v_scan_id',
      'v.scan_at as v_scan_at',
      'v.policy as v_policy',
      'v.valid_until as v_valid_until',
      'v.summary as v_summary',
      'v.stale_since as v_stale_since',
      'v.computed_at as v_computed_at',
    ])
    .where(isNewest)
    .execute();
  return rows;
}
