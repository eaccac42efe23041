import { now, type Db } from './db.js';

/** What the server pushed beside an image, per place: the periodic re-signing reads it. */

export interface AttestationRecord {
  digest: string;
  registry: string;
  repository: string;
  keyId: string;
  pushedAt: string;
  validUntil: string;
  verdicts: Record<string, string>;
  content: string;
}

export async function putAttestation(db: Db, r: Omit<AttestationRecord, 'pushedAt'>): Promise<void> {
  const values = {
    digest: r.digest,
    registry: r.registry,
    repository: r.repository,
    key_id: r.keyId,
    pushed_at: now(),
    valid_until: r.validUntil,
    verdicts: JSON.stringify(r.verdicts),
    content: r.content,
  };
  await db.k
    .insertInto('attestations')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['digest', 'registry', 'repository']).doUpdateSet({
        key_id: values.key_id,
        pushed_at: values.pushed_at,
        valid_until: values.valid_until,
        verdicts: values.verdicts,
        content: values.content,
      }),
    )
    .execute();
}

/**
 * Digests attested before, those whose verdicts run out before `dueBefore` when given (or signed
 * with another key than `keyId`, or whose content is not of `format`); at most
 * `limit`, in digest order after `after` (a sweep pages through all of them).
 */
export async function attestedDigests(
  db: Db,
  o: { dueBefore?: string; limit: number; after?: string; keyId?: string; format?: string },
): Promise<string[]> {
  let q = db.k.selectFrom('attestations').select('digest').distinct();
  const { dueBefore, keyId, format } = o;
  // Due too: a place signed with a key since rotated, or in an older shape of what is signed.
  if (dueBefore)
    q = q.where((eb) =>
      eb.or([
        eb('valid_until', '<', dueBefore),
        ...(keyId ? [eb('key_id', '!=', keyId)] : []),
        ...(format ? [eb('content', 'not like', `${format}%`)] : []),
      ]),
    );
  if (o.after) q = q.where('digest', '>', o.after);
  const rows = await q.orderBy('digest').limit(o.limit).execute();
  return rows.map((r) => r.digest);
}

/** The earliest time after `after` at which a place's attested verdicts run out, if any. */
export async function nextAttestationExpiry(db: Db, after: string): Promise<string | undefined> {
  const r = await db.k
    .selectFrom('attestations')
    .select((eb) => eb.fn.min('valid_until').as('next'))
    .where('valid_until', '>', after)
    .executeTakeFirst();
  return (r?.next as string | null | undefined) ?? undefined;
}

export async function attestationsOf(db: Db, digest: string): Promise<AttestationRecord[]> {
  const rows = await db.k.selectFrom('attestations').selectAll().where('digest', '=', digest).execute();
  return rows.map((r) => ({
    digest: r.digest,
    registry: r.registry,
    repository: r.repository,
    keyId: r.key_id,
    pushedAt: r.pushed_at,
    validUntil: r.valid_until,
    verdicts: JSON.parse(r.verdicts) as Record<string, string>,
    content: r.content,
  }));
}

/** How long the digest of a pushed referrer is remembered (its notification comes long before). */
export const ARTIFACT_MEMORY_MS = 7 * 86_400_000;

/**
 * Note manifests about to be pushed beside `subject` at `place` (`registry/repository`), before the
 * push: its notification may come first.
 */
export async function recordArtifacts(
  db: Db,
  subject: string,
  digests: string[],
  place: string | null = null,
): Promise<void> {
  if (!digests.length) return;
  const at = now();
  // Every re-signing pushes new ones: rows outlive the registry's notification of them (retried
  // for minutes) by far at a week, and the table stays the size of a week of pushes.
  await db.k
    .deleteFrom('attestation_artifacts')
    .where('pushed_at', '<', new Date(Date.parse(at) - ARTIFACT_MEMORY_MS).toISOString())
    .execute();
  await db.k
    .insertInto('attestation_artifacts')
    .values(digests.map((digest) => ({ digest, subject, pushed_at: at, place })))
    .onConflict((oc) => oc.column('digest').doNothing())
    .execute();
}

/** Which of these digests are manifests the server pushed beside an image. */
export async function knownArtifacts(db: Db, digests: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  // In slices: a webhook body may name thousands (bound parameters are limited per statement).
  for (let i = 0; i < digests.length; i += 500) {
    const rows = await db.k
      .selectFrom('attestation_artifacts')
      .select('digest')
      .where('digest', 'in', digests.slice(i, i + 500))
      .execute();
    for (const r of rows) out.add(r.digest);
  }
  return out;
}

/**
 * Referrers the server pushed beside `subject` at `place`, newest first (at most `limit`): a push replaces
 * those it supersedes even when the registry lists them past what is read of its referrers index
 * (a crowded or paged listing hides nothing the server put there itself).
 */
export async function artifactsOf(db: Db, subject: string, place: string, limit: number): Promise<string[]> {
  const rows = await db.k
    .selectFrom('attestation_artifacts')
    .select('digest')
    .where('subject', '=', subject)
    .where('place', '=', place)
    .orderBy('pushed_at', 'desc')
    .orderBy('digest')
    .limit(limit)
    .execute();
  return rows.map((r) => r.digest);
}

/** Referrers deleted from the registry (or found gone): nothing to look for any more. */
export async function forgetArtifacts(db: Db, digests: string[]): Promise<void> {
  for (let i = 0; i < digests.length; i += 500)
    await db.k
      .deleteFrom('attestation_artifacts')
      .where('digest', 'in', digests.slice(i, i + 500))
      .execute();
}
