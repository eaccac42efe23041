import { storedRiskWords, type ScanFacts } from './results.js';
import { indexFindings } from './finding-index.js';
import { indexInventory, inventoryIndexRows } from './package-index.js';
import {
  factsOf,
  pack,
  previousResult,
  resultOfRow,
  summaryColumns,
  unpack,
  type StoredResult,
} from './results.js';
import type { StoredInventory } from './package-index.js';
import type { ScanResult } from '../model/scan.js';
import type { Provenance, ProvenanceKind } from '../model/provenance.js';
import { now, type Db } from './db.js';

export type { StoredInventory } from './package-index.js';

export interface ImageRef {
  registry: string;
  repository: string;
  digest: string;
  tag?: string;
  platform?: string;
}

export interface ImageSummary {
  id: number;
  registry: string;
  repository: string;
  digest: string;
  tags: string[];
  platform: string | null;
  firstSeen: string;
  lastSeen: string;
  status: 'pending' | 'scanned';
  scan: ScanSummaryRow | null;
}

export interface ScanSummaryRow {
  id: number;
  dbVersion: string;
  source: string;
  createdAt: string;
  grade: string;
  risk: number;
  /** The risk in words (rank/explain.ts), from what the scan row keeps. */
  riskExplanation: string;
  provenance: Provenance;
  counts: {
    critical: number;
    high: number;
    medium: number;
    low: number;
    unknown: number;
    kev: number;
    fixable: number;
    total: number;
  };
}

/** An image seen in a registry (push event, poll, upload): created or its tags and last-seen updated. */
export async function recordImage(db: Db, ref: ImageRef): Promise<void> {
  const t = now();
  await db.k.transaction().execute(async (tx) => {
    let q = tx
      .selectFrom('images')
      .select(['id', 'tags'])
      .where('registry', '=', ref.registry)
      .where('repository', '=', ref.repository)
      .where('digest', '=', ref.digest);
    if (db.engine === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (ref.tag) {
      // A tag names one digest at a time: it leaves the image it pointed at before.
      const others = await tx
        .selectFrom('images')
        .select(['id', 'tags'])
        .where('registry', '=', ref.registry)
        .where('repository', '=', ref.repository)
        .where('digest', '!=', ref.digest)
        .where('tags', 'like', `%${JSON.stringify(ref.tag)}%`)
        .execute();
      for (const o of others) {
        const tags = (JSON.parse(o.tags) as string[]).filter((x) => x !== ref.tag);
        await tx
          .updateTable('images')
          .set({ tags: JSON.stringify(tags) })
          .where('id', '=', o.id)
          .execute();
      }
    }
    if (row) {
      const tags = JSON.parse(row.tags) as string[];
      if (ref.tag && !tags.includes(ref.tag)) tags.push(ref.tag);
      await tx
        .updateTable('images')
        .set({
          tags: JSON.stringify(tags),
          last_seen: t,
          ...(ref.platform ? { platform: ref.platform } : {}),
        })
        .where('id', '=', row.id)
        .execute();
    } else {
      await tx
        .insertInto('images')
        .values(imageRow(ref, t, (await latestScanId(tx as unknown as Db['k'], ref.digest)) ?? null))
        .onConflict((oc) => oc.columns(['registry', 'repository', 'digest']).doNothing())
        .execute();
    }
  });
}

async function latestScanId(k: Db['k'], digest: string): Promise<number | undefined> {
  const r = await k
    .selectFrom('scans')
    .select('id')
    .where('digest', '=', digest)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return r?.id;
}

// The type lives in model/ (shared below the store); re-exported for the store's callers.
export type { Provenance, ProvenanceKind } from '../model/provenance.js';

export const provenanceOf = (r: {
  provenance_kind: string;
  provenance_by: string | null;
  provenance_at: string | null;
}): Provenance => ({
  kind: r.provenance_kind as ProvenanceKind,
  by: r.provenance_by,
  at: r.provenance_at,
});

const provenanceColumns = (p: Provenance) => ({
  provenance_kind: p.kind,
  provenance_by: p.by,
  provenance_at: p.at,
});

/**
 * Store an inventory once per digest, indexed by the packages advisories can name. What the server
 * read itself outranks what a client reported: a server scan replaces a stored report (whose
 * inventory is returned, to compare), a report never replaces anything.
 */
export async function saveInventory(
  db: Db,
  digest: string,
  inv: StoredInventory,
  prov: Provenance = { kind: 'server-scan', by: null, at: now() },
): Promise<{ stored: boolean; replaced?: { inventory: StoredInventory; provenance: Provenance } }> {
  const server = prov.kind === 'server-scan';
  const existing = server
    ? await db.k
        .selectFrom('inventories')
        .select(['data', 'provenance_kind', 'provenance_by', 'provenance_at'])
        .where('digest', '=', digest)
        .executeTakeFirst()
    : undefined;
  if (existing?.provenance_kind === 'server-scan') return { stored: false };
  const values = { digest, data: pack(inv), created_at: now(), ...provenanceColumns(prov) };
  const r = await db.k
    .insertInto('inventories')
    .values(values)
    .onConflict((oc) =>
      server
        ? oc
            .column('digest')
            .doUpdateSet({ data: values.data, created_at: values.created_at, ...provenanceColumns(prov) })
            .where('inventories.provenance_kind', '!=', 'server-scan')
        : oc.column('digest').doNothing(),
    )
    .executeTakeFirst();
  if (!(Number(r.numInsertedOrUpdatedRows ?? 0) > 0)) return { stored: false };
  if (existing) await db.k.deleteFrom('package_index').where('digest', '=', digest).execute();
  await indexInventory(db, digest, inv);
  return {
    stored: true,
    replaced: existing
      ? { inventory: unpack<StoredInventory>(existing.data), provenance: provenanceOf(existing) }
      : undefined,
  };
}

/** The provenance of a digest's stored inventory, if there is one. */
export async function inventoryProvenance(db: Db, digest: string): Promise<Provenance | undefined> {
  const r = await db.k
    .selectFrom('inventories')
    .select(['provenance_kind', 'provenance_by', 'provenance_at'])
    .where('digest', '=', digest)
    .executeTakeFirst();
  return r ? provenanceOf(r) : undefined;
}

export async function loadInventory(db: Db, digest: string): Promise<StoredInventory | undefined> {
  return (await loadInventoryWithProvenance(db, digest))?.inventory;
}

export async function loadInventoryWithProvenance(
  db: Db,
  digest: string,
): Promise<{ inventory: StoredInventory; provenance: Provenance } | undefined> {
  const r = await db.k
    .selectFrom('inventories')
    .select(['data', 'provenance_kind', 'provenance_by', 'provenance_at'])
    .where('digest', '=', digest)
    .executeTakeFirst();
  return r ? { inventory: unpack<StoredInventory>(r.data), provenance: provenanceOf(r) } : undefined;
}

/** Has this digest been scanned at all (any database version)? */
export async function findScanAny(db: Db, digest: string): Promise<boolean> {
  return !!(await db.k
    .selectFrom('scans')
    .select('id')
    .where('digest', '=', digest)
    .limit(1)
    .executeTakeFirst());
}

/**
 * The scan of a digest that holds for this database version: made with it, or (unless `exact`)
 * found by a database update still to hold for it; with `kind`, only a result of that provenance
 * counts (a reported result does not make the server's own scan needless).
 */
export async function findScan(
  db: Db,
  digest: string,
  dbVersion: string,
  exact = false,
  kind?: ProvenanceKind,
): Promise<number | undefined> {
  let q = db.k
    .selectFrom('scans')
    .select('id')
    .where('digest', '=', digest)
    .where((eb) =>
      exact
        ? eb('db_version', '=', dbVersion)
        : eb.or([eb('db_version', '=', dbVersion), eb('checked_version', '=', dbVersion)]),
    );
  if (kind) q = q.where('provenance_kind', '=', kind);
  const r = await q.orderBy('id', 'desc').executeTakeFirst();
  return r?.id;
}

/**
 * Store one scan, keyed by (digest, DB version): a second result for the same key changes nothing,
 * except that the server's own scan replaces a result matched from a report (a report never
 * replaces anything). Every image record of that digest then points at its newest scan.
 */
export async function saveScan(
  db: Db,
  s: {
    digest: string;
    dbVersion: string;
    source: string;
    context?: object;
    result: ScanResult;
    durationMs: number;
    /** Default: the server's own scan. */
    provenance?: Provenance;
  },
): Promise<{ id: number; created: boolean; before?: ScanResult }> {
  const result = pack((({ packages: _drop, ...rest }) => rest)(s.result));
  const provenance = s.provenance ?? { kind: 'server-scan', by: s.source, at: now() };
  const server = provenance.kind === 'server-scan';
  // The reported result this scan replaces: what the image showed until now.
  const replacing = server
    ? await db.k
        .selectFrom('scans')
        .select(['id', 'result', 'base_id'])
        .where('digest', '=', s.digest)
        .where('db_version', '=', s.dbVersion)
        .where('provenance_kind', '!=', 'server-scan')
        .executeTakeFirst()
    : undefined;
  const row = {
    source: s.source,
    context: s.context ? JSON.stringify(s.context) : null,
    created_at: now(),
    ...summaryColumns(s.result.summary, factsOf(s.result)),
    result,
    duration_ms: Math.round(s.durationMs),
    base_id: null,
    checked_version: null,
    ...provenanceColumns(provenance),
  };
  // Statement by statement: measured, one kysely transaction around them made re-matching slower.
  const inserted = await db.k
    .insertInto('scans')
    .values({ digest: s.digest, db_version: s.dbVersion, ...row })
    .onConflict((oc) =>
      server
        ? oc
            .columns(['digest', 'db_version'])
            .doUpdateSet(row)
            .where('scans.provenance_kind', '!=', 'server-scan')
        : oc.columns(['digest', 'db_version']).doNothing(),
    )
    .returning('id')
    .executeTakeFirst();
  const id = inserted?.id ?? (await findScan(db, s.digest, s.dbVersion, true))!;
  // The scan before this one: what changed, and the finding index updated by difference (most
  // re-matches change a few findings; rewriting all of an image's rows cost more than matching).
  const before = inserted
    ? replacing
      ? ((await resultOfRow(db, replacing)) as ScanResult)
      : await previousResult(db, s.digest, id)
    : undefined;
  if (inserted) await indexFindings(db, s.digest, s.result.findings, before?.findings);
  await db.k
    .updateTable('images')
    .set({ latest_scan_id: id })
    .where('digest', '=', s.digest)
    .where((eb) => eb.or([eb('latest_scan_id', 'is', null), eb('latest_scan_id', '<', id)]))
    .execute();
  return { id, created: !!inserted, before };
}

export interface ImageFilter {
  repository?: string;
  tag?: string;
  digest?: string;
  severity?: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN';
  kev?: boolean;
  fixable?: boolean;
  cursor?: string;
  limit: number;
}

const SUMMARY_COLUMNS = [
  'images.id as id',
  'images.registry as registry',
  'images.repository as repository',
  'images.digest as digest',
  'images.tags as tags',
  'images.platform as platform',
  'images.first_seen as first_seen',
  'images.last_seen as last_seen',
  's.id as scan_id',
  's.db_version as db_version',
  's.source as source',
  's.created_at as scanned_at',
  's.grade as grade',
  's.risk as risk',
  's.critical as critical',
  's.high as high',
  's.medium as medium',
  's.low as low',
  's.unknown as unknown',
  's.kev as kev',
  's.fixable as fixable',
  's.total as total',
  's.provenance_kind as provenance_kind',
  's.provenance_by as provenance_by',
  's.provenance_at as provenance_at',
  's.tally as tally',
] as const;

/** Newest first, one page at a time; the cursor is opaque to clients (last_seen and id). */
export async function listImages(
  db: Db,
  f: ImageFilter,
): Promise<{ items: ImageSummary[]; next: string | null }> {
  let q = db.k
    .selectFrom('images')
    .leftJoin('scans as s', 's.id', 'images.latest_scan_id')
    .select(SUMMARY_COLUMNS)
    .orderBy('images.last_seen', 'desc')
    .orderBy('images.id', 'desc')
    .limit(f.limit + 1);
  if (f.repository) q = q.where('images.repository', '=', f.repository);
  if (f.digest) q = q.where('images.digest', '=', f.digest);
  if (f.tag) q = q.where('images.tags', 'like', `%${JSON.stringify(f.tag)}%`);
  if (f.severity) q = q.where(`s.${f.severity.toLowerCase() as 'critical'}`, '>', 0);
  if (f.kev) q = q.where('s.kev', '>', 0);
  if (f.fixable) q = q.where('s.fixable', '>', 0);
  if (f.cursor) {
    const [ls, id] = Buffer.from(f.cursor, 'base64url').toString('utf8').split('|');
    q = q.where((eb) =>
      eb.or([
        eb('images.last_seen', '<', ls),
        eb.and([eb('images.last_seen', '=', ls), eb('images.id', '<', Number(id))]),
      ]),
    );
  }
  const rows = await q.execute();
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(summaryOf),
    next:
      rows.length > f.limit && last
        ? Buffer.from(`${last.last_seen}|${last.id}`).toString('base64url')
        : null,
  };
}

type SummaryRow = {
  id: number;
  registry: string;
  repository: string;
  digest: string;
  tags: string;
  platform: string | null;
  first_seen: string;
  last_seen: string;
  scan_id: number | null;
  db_version: string | null;
  source: string | null;
  scanned_at: string | null;
  grade: string | null;
  risk: number | null;
  critical: number | null;
  high: number | null;
  medium: number | null;
  low: number | null;
  unknown: number | null;
  kev: number | null;
  fixable: number | null;
  total: number | null;
  provenance_kind: string | null;
  provenance_by: string | null;
  provenance_at: string | null;
  tally: string | null;
};

function summaryOf(r: SummaryRow): ImageSummary {
  return {
    id: r.id,
    registry: r.registry,
    repository: r.repository,
    digest: r.digest,
    tags: JSON.parse(r.tags) as string[],
    platform: r.platform,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    status: r.scan_id ? 'scanned' : 'pending',
    scan: r.scan_id
      ? {
          id: r.scan_id,
          dbVersion: r.db_version!,
          source: r.source!,
          createdAt: r.scanned_at!,
          grade: r.grade!,
          risk: Number(r.risk),
          riskExplanation: storedRiskWords(r.tally ? (JSON.parse(r.tally) as Partial<ScanFacts>) : {}),
          provenance: provenanceOf({ ...r, provenance_kind: r.provenance_kind ?? 'server-scan' }),
          counts: {
            critical: r.critical!,
            high: r.high!,
            medium: r.medium!,
            low: r.low!,
            unknown: r.unknown!,
            kev: r.kev!,
            fixable: r.fixable!,
            total: r.total!,
          },
        }
      : null,
  };
}

/** One image by digest: where it was seen, its newest scan and that scan's findings. */
export async function getImage(
  db: Db,
  digest: string,
): Promise<
  | {
      refs: ImageSummary[];
      result?: StoredResult;
      context: Record<string, string> | null;
      packages: number;
      /** Who read the stored inventory (null: none stored yet). */
      provenance: Provenance | null;
      /** The provenance of the newest result. */
      scanProvenance: Provenance | null;
    }
  | undefined
> {
  const { items } = await listImages(db, { digest, limit: 100 });
  const scanId = items.find((i) => i.scan)?.scan?.id ?? (await latestScanId(db.k, digest));
  if (!items.length && !scanId) return undefined;
  const scan = scanId
    ? await db.k
        .selectFrom('scans')
        .select(['result', 'base_id', 'context', 'provenance_kind', 'provenance_by', 'provenance_at'])
        .where('id', '=', scanId)
        .executeTakeFirst()
    : undefined;
  const inv = await loadInventoryWithProvenance(db, digest);
  return {
    refs: items,
    result: scan ? await resultOfRow(db, scan) : undefined,
    context: scan?.context ? (JSON.parse(scan.context) as Record<string, string>) : null,
    packages: inv?.inventory.packages.length ?? 0,
    provenance: inv?.provenance ?? null,
    scanProvenance: scan ? provenanceOf(scan) : null,
  };
}

export async function scanCount(db: Db): Promise<number> {
  const r = await db.k
    .selectFrom('scans')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** The provenance kind of each stored inventory among these digests. */
export async function inventoryKinds(db: Db, digests: string[]): Promise<Map<string, string>> {
  const rows = await db.k
    .selectFrom('inventories')
    .select(['digest', 'provenance_kind'])
    .where('digest', 'in', digests)
    .execute();
  return new Map(rows.map((r) => [r.digest, r.provenance_kind]));
}

/**
 * The results of these digests made with `version` (`made`), or found by a database update to
 * hold for it (`!made`), with the provenance of the inventory each was matched from.
 */
export async function resultsFor(db: Db, digests: string[], version: string, made: boolean) {
  return db.k
    .selectFrom('scans')
    .select(['digest', 'provenance_kind'])
    .where('digest', 'in', digests)
    .where(made ? 'db_version' : 'checked_version', '=', version)
    .execute();
}

/** The newest scan row of a digest (its result is read with resultOfRow). */
export async function newestScanRow(db: Db, digest: string) {
  return db.k
    .selectFrom('scans')
    .select([
      'result',
      'base_id',
      'grade',
      'risk',
      'db_version',
      'created_at',
      'provenance_kind',
      'provenance_by',
      'provenance_at',
    ])
    .where('digest', '=', digest)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** `registry/repository` of the first place a digest was seen, or '' when none. */
export async function firstRepositoryOf(db: Db, digest: string): Promise<string> {
  const r = await db.k
    .selectFrom('images')
    .select(['registry', 'repository'])
    .where('digest', '=', digest)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return r ? `${r.registry}/${r.repository}` : '';
}

/** The tags an image carries in one repository ([] when it is not known there). */
export async function tagsOf(
  db: Db,
  registry: string,
  repository: string,
  digest: string,
): Promise<string[]> {
  const row = await db.k
    .selectFrom('images')
    .select('tags')
    .where('registry', '=', registry)
    .where('repository', '=', repository)
    .where('digest', '=', digest)
    .executeTakeFirst();
  return row ? (JSON.parse(row.tags) as string[]) : [];
}

/** Where a digest is known: each registry and repository. */
export async function placesOf(
  db: Db,
  digest: string,
): Promise<Array<{ registry: string; repository: string }>> {
  return db.k.selectFrom('images').select(['registry', 'repository']).where('digest', '=', digest).execute();
}

/**
 * Repositories of configured registries named after a distribution (`alpine`, `library/alpine`,
 * `mirror/debian`): where base images of that distribution are looked for. Known images and
 * watched repositories both count; at most `limit`.
 */
export async function distroRepositories(
  db: Db,
  distro: string,
  limit: number,
): Promise<Array<{ registry: string; repository: string }>> {
  // LIKE narrows in SQL; the exact last path segment is checked below (`_` is a LIKE wildcard).
  const named = <T extends 'images' | 'watches'>(table: T) =>
    db.k
      .selectFrom(table as 'images')
      .select(['registry', 'repository'])
      .where('registry', 'in', db.k.selectFrom('registries').select('host'))
      .where((eb) => eb.or([eb('repository', '=', distro), eb('repository', 'like', `%/${distro}`)]))
      .distinct()
      .limit(limit)
      .execute();
  const rows = [...(await named('images')), ...(await named('watches'))].filter(
    (r) => r.repository.split('/').pop() === distro,
  );
  const seen = new Map<string, { registry: string; repository: string }>();
  for (const r of rows) seen.set(`${r.registry}/${r.repository}`, r);
  return [...seen.values()].slice(0, limit);
}

/**
 * An image row recorded for what turned out to be an artifact (a signature, attestation or SBOM
 * manifest a registry notified about): removed, unless something was stored under the digest.
 */
export async function forgetArtifact(db: Db, ref: { registry: string; repository: string; digest: string }) {
  if (await findScanAny(db, ref.digest)) return;
  await db.k
    .deleteFrom('images')
    .where('registry', '=', ref.registry)
    .where('repository', '=', ref.repository)
    .where('digest', '=', ref.digest)
    .execute();
}

/**
 * Inventories of digests not stored yet, many at once (seeding a store: the fleet benches), with
 * their package indexes: multi-row inserts instead of a few statements per image. A digest
 * already stored is left as it is (saveInventory decides replacements; this never replaces).
 * Call inside a transaction (inTransaction) for one commit per batch.
 */
export async function saveNewInventories(
  db: Db,
  items: Array<{ digest: string; inventory: StoredInventory }>,
  prov: Provenance = { kind: 'server-scan', by: null, at: now() },
): Promise<number> {
  const at = now();
  let stored = 0;
  for (let i = 0; i < items.length; i += 200) {
    const chunk = items.slice(i, i + 200);
    const inserted = await db.k
      .insertInto('inventories')
      .values(
        chunk.map((x) => ({
          digest: x.digest,
          data: pack(x.inventory),
          created_at: at,
          ...provenanceColumns(prov),
        })),
      )
      .onConflict((oc) => oc.column('digest').doNothing())
      .returning('digest')
      .execute();
    const fresh = new Set(inserted.map((r) => r.digest));
    stored += fresh.size;
    const versions = [];
    const keys = [];
    for (const x of chunk) {
      if (!fresh.has(x.digest)) continue;
      const rows = inventoryIndexRows(x.digest, x.inventory);
      versions.push(...rows.versions);
      keys.push(...rows.keys);
    }
    // PostgreSQL takes at most 65,535 parameters a statement: 4 columns × 2,000 rows stays below.
    for (let j = 0; j < versions.length; j += 2000)
      await db.k
        .insertInto('package_versions')
        .values(versions.slice(j, j + 2000))
        .execute();
    for (let j = 0; j < keys.length; j += 2000)
      await db.k
        .insertInto('package_index')
        .values(keys.slice(j, j + 2000))
        .onConflict((oc) => oc.columns(['ecosystem', 'name', 'digest']).doNothing())
        .execute();
  }
  return stored;
}

/** A new image record (one shape for recordImage and recordNewImages). */
function imageRow(ref: ImageRef, t: string, latestScanId: number | null) {
  return {
    registry: ref.registry,
    repository: ref.repository,
    digest: ref.digest,
    tags: JSON.stringify(ref.tag ? [ref.tag] : []),
    platform: ref.platform ?? null,
    first_seen: t,
    last_seen: t,
    latest_scan_id: latestScanId,
  };
}

/**
 * Image records not seen before, many at once (seeding a store); a known one is left as it is
 * (recordImage updates tags and last-seen). No scan points at them yet.
 */
export async function recordNewImages(db: Db, refs: ImageRef[]): Promise<void> {
  const t = now();
  for (let i = 0; i < refs.length; i += 1000)
    await db.k
      .insertInto('images')
      .values(refs.slice(i, i + 1000).map((ref) => imageRow(ref, t, null)))
      .onConflict((oc) => oc.columns(['registry', 'repository', 'digest']).doNothing())
      .execute();
}
