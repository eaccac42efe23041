import { sql } from 'kysely';
import { now, SQLITE_BUSY_MS, type Db } from './db.js';
import type { Tables } from './schema.js';

/**
 * Stored gate verdicts per (environment, `registry/repository`, digest). A row holds while
 *  - the digest's newest scan is the one it judged (`scan_id`, `scan_at`),
 *  - the policy is the one it was judged by (`policy`, a hash),
 *  - time alone has not changed it (`valid_until`: an exception's expiry, a policy date), and
 *  - no approval, exception, gate setting or trust result touching it changed since: every such
 *    write calls `staleVerdicts` in its own transaction, which marks the rows it touches
 *    (`stale_since`) and bumps `verdict_generation`. A marked row never holds: a decision is judged
 *    again; only a list may show it, marked, until the singleton `verdicts` judged it again.
 * A verdict is stored only if the generation is still the one read before it was computed
 * (`putVerdict`), so a computation that raced a change is never kept: stale is never served as fresh.
 */

export type VerdictRow = Tables['verdicts'];

/** The generation now: read before judging, handed to `putVerdict`. */
export async function verdictGeneration(db: Db): Promise<number> {
  const r = await db.k
    .selectFrom('verdict_generation')
    .select('generation')
    .where('id', '=', 1)
    .executeTakeFirst();
  return Number(r?.generation ?? 0);
}

/**
 * A change to the gate: the verdicts it may touch are marked stale, and the generation moves on.
 * Call it in the change's transaction. With no scope at all, every verdict is marked (a change of
 * unknown reach). Marked rather than removed: an overview of 10,000 workloads after a change of
 * the gate shows the previous verdicts, marked, instead of judging them all on its request.
 */
export async function staleVerdicts(
  db: Db,
  scope: { environments?: string[] | null; repository?: string | null; digest?: string | null } = {},
): Promise<void> {
  // The generation first: on PostgreSQL its row lock orders this change against putVerdict.
  await db.k
    .updateTable('verdict_generation')
    .set((eb) => ({ generation: eb('generation', '+', 1) }))
    .where('id', '=', 1)
    .execute();
  // The first mark stays: "re-judging since" the change that made it stale.
  let q = db.k.updateTable('verdicts').set({ stale_since: now() }).where('stale_since', 'is', null);
  if (scope.environments?.length) q = q.where('environment', 'in', scope.environments);
  if (scope.digest) q = q.where('digest', '=', scope.digest);
  // '' is a verdict asked for without a repository: its exceptions were those of the digest's first.
  if (scope.repository) q = q.where('repository', 'in', [scope.repository, '']);
  await q.execute();
}

/**
 * Keep a verdict unless the gate changed since `generation` was read (then the caller's answer is
 * still given, but not stored: the next reader judges again).
 */
export async function putVerdict(db: Db, row: VerdictRow): Promise<boolean> {
  return db.k.transaction().execute(async (k) => {
    // A verdict is a cache of what the store says: not keeping one costs the next reader a judgement,
    // so keeping it never waits long. Its commit need not reach the disk before the answer (PostgreSQL
    // flushes the WAL behind a big report's writes), and a lock held elsewhere is not waited out: on
    // SQLite the wait would hold the whole event loop (better-sqlite3 is synchronous).
    if (db.engine === 'postgres') {
      await sql`SET LOCAL synchronous_commit = off`.execute(k);
      await sql`SET LOCAL lock_timeout = '200ms'`.execute(k);
    } else await sql`PRAGMA busy_timeout = 100`.execute(k);
    try {
      return await keep(db, k, row);
    } finally {
      if (db.engine === 'sqlite')
        await sql`PRAGMA busy_timeout = ${sql.raw(String(SQLITE_BUSY_MS))}`.execute(k);
    }
  });
}

async function keep(db: Db, k: Db['k'], row: VerdictRow): Promise<boolean> {
  // FOR SHARE: a change in flight (staleVerdicts holds the row) finishes first, and is seen.
  const lock = db.engine === 'postgres' ? sql` FOR SHARE` : sql``;
  const r = await sql<{
    generation: number;
  }>`SELECT generation FROM verdict_generation WHERE id = 1${lock}`.execute(k);
  if (Number(r.rows[0]?.generation ?? 0) !== row.generation) return false;
  const { environment: _e, repository: _r, digest: _d, ...rest } = row;
  await k
    .insertInto('verdicts')
    .values(row)
    .onConflict((oc) => oc.columns(['environment', 'repository', 'digest']).doUpdateSet(rest))
    .execute();
  return true;
}

/** The newest scan of a digest as verdicts are stamped with it. */
export async function scanStamp(db: Db, digest: string): Promise<{ id: number; at: string } | undefined> {
  const r = await db.k
    .selectFrom('scans')
    .select(['id', 'created_at'])
    .where('digest', '=', digest)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? { id: Number(r.id), at: r.created_at } : undefined;
}

export async function storedVerdict(
  db: Db,
  environment: string,
  repository: string,
  digest: string,
): Promise<VerdictRow | undefined> {
  return db.k
    .selectFrom('verdicts')
    .selectAll()
    .where('environment', '=', environment)
    .where('repository', '=', repository)
    .where('digest', '=', digest)
    .executeTakeFirst();
}

/** Whether a stored verdict still holds for this scan, policy and moment. */
export function holds(
  v: Pick<VerdictRow, 'scan_id' | 'scan_at' | 'policy' | 'valid_until' | 'stale_since'>,
  scan: { id: number; at: string } | undefined,
  policy: string,
  at = now(),
): boolean {
  return (
    !v.stale_since &&
    v.policy === policy &&
    (v.scan_id == null ? !scan : !!scan && Number(v.scan_id) === scan.id && v.scan_at === scan.at) &&
    (!v.valid_until || v.valid_until > at)
  );
}

/**
 * What the list of running workloads with their verdicts is made of, in one string: the gate's
 * generation, the deployments (newest, latest end, how many ended), the scans (newest, and the
 * latest time one was written: a server scan replaces a report in place) and the images (a tag
 * moves: the image it moves to is seen then). Equal stamps, equal lists (until a verdict's time runs out).
 */
export async function runningStamp(db: Db): Promise<string> {
  const [g, d, s, i] = await Promise.all([
    verdictGeneration(db),
    db.k
      .selectFrom('deployments')
      .select((eb) => [
        eb.fn.max('id').as('a'),
        eb.fn.max('ended_at').as('b'),
        eb.fn.count('ended_at').as('c'),
      ])
      .executeTakeFirst(),
    db.k
      .selectFrom('scans')
      .select((eb) => [eb.fn.max('id').as('a'), eb.fn.max('created_at').as('b')])
      .executeTakeFirst(),
    db.k
      .selectFrom('images')
      .select((eb) => eb.fn.max('last_seen').as('a'))
      .executeTakeFirst(),
  ]);
  return [g, d?.a, d?.b, d?.c, s?.a, s?.b, i?.a].map((x) => String(x ?? '')).join('|');
}

/**
 * Mark the verdicts of these digests stale (a new result for each, judged again in the background:
 * the fleet re-match after a database update touches thousands), and move the generation once so
 * the singleton `verdicts` sees work.
 */
export async function staleVerdictsOf(db: Db, digests: string[]): Promise<void> {
  if (!digests.length) return;
  await db.k
    .updateTable('verdict_generation')
    .set((eb) => ({ generation: eb('generation', '+', 1) }))
    .where('id', '=', 1)
    .execute();
  for (let i = 0; i < digests.length; i += 500)
    await db.k
      .updateTable('verdicts')
      .set({ stale_since: now() })
      .where('stale_since', 'is', null)
      .where('digest', 'in', digests.slice(i, i + 500))
      .execute();
}
