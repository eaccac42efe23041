import type { Selectable } from 'kysely';
import { now, type Db } from './db.js';
import type { Tables } from './schema.js';
import { staleVerdicts } from './verdicts.js';

/** Exceptions (waivers) as stored: the rules about who may make and sign them are gate/exceptions.ts. */

export interface ExceptionInput {
  vulnerability?: string;
  package?: string;
  rule?: string;
  repository?: string;
  digest?: string;
  environments?: string[];
  reason: string;
  expiresAt: string;
}

export interface ExceptionRecord extends Omit<ExceptionInput, 'environments'> {
  id: number;
  environments: string[] | null;
  state: 'pending' | 'active' | 'revoked' | 'expired';
  createdBy: string;
  createdAt: string;
  approvedBy: string | null;
  approvedAt: string | null;
  revokedBy: string | null;
  revokedAt: string | null;
}

type Row = Selectable<Tables['exceptions']>;

function recordOf(r: Row, at: string): ExceptionRecord {
  const state = r.state === 'active' && r.expires_at <= at ? 'expired' : r.state;
  return {
    id: Number(r.id),
    vulnerability: r.vulnerability ?? undefined,
    package: r.package ?? undefined,
    rule: r.rule ?? undefined,
    repository: r.repository ?? undefined,
    digest: r.digest ?? undefined,
    environments: r.environments ? (JSON.parse(r.environments) as string[]) : null,
    reason: r.reason,
    expiresAt: r.expires_at,
    state: state as ExceptionRecord['state'],
    createdBy: r.created_by,
    createdAt: r.created_at,
    approvedBy: r.approved_by,
    approvedAt: r.approved_at,
    revokedBy: r.revoked_by,
    revokedAt: r.revoked_at,
  };
}

/** A new exception; its id. */
export async function insertException(
  db: Db,
  e: ExceptionInput & { expiresAt: string; state: string; createdBy: string; at: string },
): Promise<{ id: number }> {
  const approved = e.state === 'active';
  const row = await db.k
    .insertInto('exceptions')
    .values({
      vulnerability: e.vulnerability ?? null,
      package: e.package ?? null,
      rule: e.rule ?? null,
      repository: e.repository ?? null,
      digest: e.digest ?? null,
      environments: e.environments?.length ? JSON.stringify(e.environments) : null,
      reason: e.reason.trim(),
      expires_at: e.expiresAt,
      state: e.state,
      created_by: e.createdBy,
      created_at: e.at,
      approved_by: approved ? e.createdBy : null,
      approved_at: approved ? e.at : null,
      revoked_by: null,
      revoked_at: null,
      expiry_alerted_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  // After the change: a verdict judged before it is refused by the new generation.
  await staleVerdicts(db, {
    environments: e.environments?.length ? e.environments : null,
    repository: e.repository,
    digest: e.digest,
  });
  return row;
}

/** Sign off (`active`, approved by) or revoke (`revoked`, revoked by) an exception. */
export async function setExceptionState(
  db: Db,
  id: number,
  state: 'active' | 'revoked',
  by: string,
  at: string,
): Promise<void> {
  const scope = await db.k
    .selectFrom('exceptions')
    .select(['environments', 'repository', 'digest'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (state === 'active')
    await db.k
      .updateTable('exceptions')
      .set({ state: 'active', approved_by: by, approved_at: at })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
  else
    await db.k
      .updateTable('exceptions')
      .set({ state: 'revoked', revoked_by: by, revoked_at: at })
      .where('id', '=', id)
      .execute();
  if (scope)
    await staleVerdicts(db, {
      environments: scope.environments ? (JSON.parse(scope.environments) as string[]) : null,
      repository: scope.repository,
      digest: scope.digest,
    });
}

/**
 * Active exceptions covering `environment` (by name, or all environments) go back to pending: they
 * were never signed off for it, and it now asks for sign-off. Their ids.
 */
export async function repend(db: Db, environment: string): Promise<number[]> {
  const rows = await db.k
    .selectFrom('exceptions')
    .select(['id', 'environments'])
    .where('state', '=', 'active')
    .execute();
  const ids = rows
    .filter((r) => !r.environments || (JSON.parse(r.environments) as string[]).includes(environment))
    .map((r) => r.id);
  for (let i = 0; i < ids.length; i += 500)
    await db.k
      .updateTable('exceptions')
      .set({ state: 'pending', approved_by: null, approved_at: null })
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
  // Pending everywhere it applied: every stored verdict may have rested on one of them.
  if (ids.length) await staleVerdicts(db);
  return ids;
}

export async function getException(
  db: Db,
  id: number,
  at = new Date(),
): Promise<ExceptionRecord | undefined> {
  const r = await db.k.selectFrom('exceptions').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? recordOf(r as Row, at.toISOString()) : undefined;
}

export async function listExceptions(
  db: Db,
  f: { state?: string; environment?: string } = {},
  at = new Date(),
): Promise<ExceptionRecord[]> {
  const rows = (await db.k.selectFrom('exceptions').selectAll().orderBy('id', 'desc').execute()) as Row[];
  return rows
    .map((r) => recordOf(r, at.toISOString()))
    .filter((e) => !f.state || e.state === f.state)
    .filter((e) => !f.environment || !e.environments || e.environments.includes(f.environment));
}

/** Exceptions in force for an image in an environment at a time. */
export async function activeExceptions(
  db: Db,
  image: { repository: string; digest: string },
  environment: string,
  at = new Date(),
): Promise<ExceptionRecord[]> {
  return exceptionsFor(await allActiveExceptions(db, at), image, environment);
}

/** Every exception in force at a time (a fleet-wide pass reads them once). */
export async function allActiveExceptions(db: Db, at = new Date()): Promise<ExceptionRecord[]> {
  const rows = (await db.k
    .selectFrom('exceptions')
    .selectAll()
    .where('state', '=', 'active')
    .where('expires_at', '>', at.toISOString())
    .execute()) as Row[];
  return rows.map((r) => recordOf(r, at.toISOString()));
}

/** Of exceptions in force, those covering an image in an environment. */
export function exceptionsFor(
  all: ExceptionRecord[],
  image: { repository: string; digest: string },
  environment: string,
): ExceptionRecord[] {
  return all.filter(
    (e) =>
      (!e.environments || e.environments.includes(environment)) &&
      (!e.digest || e.digest === image.digest) &&
      (!e.repository || e.repository === image.repository),
  );
}

/** Active exceptions whose expiry was not alerted yet. */
export async function unalertedActiveExceptions(db: Db, at = new Date()): Promise<ExceptionRecord[]> {
  const rows = (await db.k
    .selectFrom('exceptions')
    .selectAll()
    .where('state', '=', 'active')
    .where('expiry_alerted_at', 'is', null)
    .where('expires_at', '>', at.toISOString())
    .execute()) as Row[];
  return rows.map((r) => recordOf(r, at.toISOString()));
}

export async function markExpiryAlerted(db: Db, id: number): Promise<void> {
  await db.k.updateTable('exceptions').set({ expiry_alerted_at: now() }).where('id', '=', id).execute();
}
