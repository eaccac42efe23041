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
 * Digests attested before, those whose verdicts run out before `dueBefore` when given; at most
 * `limit`, in digest order after `after` (a sweep pages through all of them).
 */
export async function attestedDigests(
  db: Db,
  o: { dueBefore?: string; limit: number; after?: string },
): Promise<string[]> {
  let q = db.k.selectFrom('attestations').select('digest').distinct();
  if (o.dueBefore) q = q.where('valid_until', '<', o.dueBefore);
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
