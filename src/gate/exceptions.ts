import type { Selectable } from 'kysely';
import YAML from 'yaml';
import { GateError } from './errors.js';
import { now, type Db } from '../store/db.js';
import type { Tables } from '../store/schema.js';
import { VERSION } from '../version.js';
import { appendAudit, inTransaction } from './audit.js';
import { allGates, mayActFor, actorOf, type Principal } from './settings.js';

/**
 * Server-side exceptions (waivers): a vulnerability (optionally in one package), or a policy rule,
 * for every image, a repository or one digest, in some or all environments, with a reason and an
 * expiry. Where an environment asks for sign-off, an exception stays pending until an approver for
 * every environment it covers signs it (four-eyes environments: someone other than its author).
 */

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

/** Environments an exception covers: its list, or every environment. */
async function covered(db: Db, envs: string[] | null | undefined): Promise<string[]> {
  const gates = await allGates(db);
  if (!envs) return [...gates.keys()];
  const unknown = envs.filter((e) => !gates.has(e));
  if (unknown.length) throw new GateError(`no environment ${unknown.join(', ')}`, 'invalid');
  return envs;
}

/** Whether `p` may sign off an exception by `author` covering `envs`. */
async function maySignOff(db: Db, p: Principal, envs: string[], author: string): Promise<string | undefined> {
  const gates = await allGates(db);
  for (const e of envs) {
    const g = gates.get(e)!;
    if (!g.exceptionSignoff) continue;
    if (!mayActFor(p, 'approve', e)) return `an approver for ${e} must sign this exception off`;
    if (g.fourEyes && actorOf(p) === author) return `${e} needs a second person to sign off (four-eyes)`;
  }
  return undefined;
}

export async function createException(
  db: Db,
  p: Principal,
  input: ExceptionInput,
  at = new Date(),
): Promise<ExceptionRecord> {
  if (!input.vulnerability && !input.rule)
    throw new GateError(
      'an exception names a vulnerability (with an optional package) or a policy rule',
      'invalid',
    );
  if (input.rule && (input.vulnerability || input.package))
    throw new GateError('an exception waives either a vulnerability or a policy rule, not both', 'invalid');
  if (input.digest && !/^sha256:[a-f0-9]{64}$/.test(input.digest))
    throw new GateError('digest must be sha256:<64 hex>', 'invalid');
  const expires = Date.parse(input.expiresAt);
  if (Number.isNaN(expires)) throw new GateError('expiresAt is not a date', 'invalid');
  if (expires <= at.getTime()) throw new GateError('expiresAt is in the past', 'invalid');
  if (!input.reason.trim()) throw new GateError('an exception needs a reason', 'invalid');
  const envs = await covered(db, input.environments);
  // A token limited to some environments waives findings only there ("every environment" included).
  const outside = p.environments ? envs.filter((e) => !p.environments!.includes(e)) : [];
  if (outside.length)
    throw new GateError(`this caller may not waive findings in ${outside.join(', ')}`, 'forbidden');
  const author = actorOf(p);
  // The author signs their own when they may (and four-eyes does not forbid it); else it waits.
  const state = (await maySignOff(db, p, envs, author)) ? 'pending' : 'active';
  return inTransaction(db, async (trx) => {
    const t = at.toISOString();
    const row = await trx.k
      .insertInto('exceptions')
      .values({
        vulnerability: input.vulnerability ?? null,
        package: input.package ?? null,
        rule: input.rule ?? null,
        repository: input.repository ?? null,
        digest: input.digest ?? null,
        environments: input.environments?.length ? JSON.stringify(input.environments) : null,
        reason: input.reason.trim(),
        expires_at: new Date(expires).toISOString(),
        state,
        created_by: author,
        created_at: t,
        approved_by: state === 'active' ? author : null,
        approved_at: state === 'active' ? t : null,
        revoked_by: null,
        revoked_at: null,
        expiry_alerted_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: author,
      action: 'exception.create',
      subject: `exception:${row.id}`,
      details: { ...input, environments: input.environments ?? null, state },
    });
    return (await getException(trx, row.id, at))!;
  });
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

export async function signOffException(
  db: Db,
  p: Principal,
  id: number,
  at = new Date(),
): Promise<ExceptionRecord> {
  const e = await getException(db, id, at);
  if (!e) throw new GateError(`no exception ${id}`, 'not_found');
  if (e.state !== 'pending') throw new GateError(`exception ${id} is ${e.state}, not pending`, 'conflict');
  const why = await maySignOff(db, p, await covered(db, e.environments), e.createdBy);
  if (why) throw new GateError(why, 'forbidden');
  return inTransaction(db, async (trx) => {
    await trx.k
      .updateTable('exceptions')
      .set({ state: 'active', approved_by: actorOf(p), approved_at: at.toISOString() })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
    await appendAudit(trx, { actor: actorOf(p), action: 'exception.approve', subject: `exception:${id}` });
    return (await getException(trx, id, at))!;
  });
}

export async function revokeException(
  db: Db,
  p: Principal,
  id: number,
  reason: string,
  at = new Date(),
): Promise<ExceptionRecord> {
  const e = await getException(db, id, at);
  if (!e) throw new GateError(`no exception ${id}`, 'not_found');
  if (e.state === 'revoked') throw new GateError(`exception ${id} is already revoked`, 'conflict');
  const envs = await covered(db, e.environments);
  // Its author may withdraw it; otherwise an approver for every environment it covers.
  if (actorOf(p) !== e.createdBy && !envs.every((env) => mayActFor(p, 'approve', env)))
    throw new GateError('only its author or an approver for its environments may revoke it', 'forbidden');
  return inTransaction(db, async (trx) => {
    await trx.k
      .updateTable('exceptions')
      .set({ state: 'revoked', revoked_by: actorOf(p), revoked_at: at.toISOString() })
      .where('id', '=', id)
      .execute();
    await appendAudit(trx, {
      actor: actorOf(p),
      action: 'exception.revoke',
      subject: `exception:${id}`,
      details: { reason },
    });
    return (await getException(trx, id, at))!;
  });
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

// Applying exceptions to findings is pure: it lives with the other suppressors (policy/suppress.ts).
export { applyExceptions } from '../policy/suppress.js';

/** Active exceptions whose expiry is within each environment's warning window and not yet alerted. */
export async function expiringExceptions(db: Db, at = new Date()): Promise<ExceptionRecord[]> {
  const gates = await allGates(db);
  const rows = (await db.k
    .selectFrom('exceptions')
    .selectAll()
    .where('state', '=', 'active')
    .where('expiry_alerted_at', 'is', null)
    .where('expires_at', '>', at.toISOString())
    .execute()) as Row[];
  return rows
    .map((r) => recordOf(r, at.toISOString()))
    .filter((e) => {
      const envs = e.environments ?? [...gates.keys()];
      const days = Math.max(...envs.map((x) => gates.get(x)?.exceptionWarningDays ?? 7));
      return Date.parse(e.expiresAt) - at.getTime() <= days * 86_400_000;
    });
}

export async function markExpiryAlerted(db: Db, id: number): Promise<void> {
  await db.k.updateTable('exceptions').set({ expiry_alerted_at: now() }).where('id', '=', id).execute();
}

/** The `.customsignore.yaml` twin of the vulnerability exceptions in force. */
export function toIgnoreFile(list: ExceptionRecord[]): string {
  const ignores = list
    .filter((e) => e.state === 'active' && e.vulnerability)
    .map((e) => ({
      id: e.vulnerability,
      ...(e.package ? { package: e.package } : {}),
      reason: e.reason,
      expires: e.expiresAt.slice(0, 10),
      // The ignore file knows the three built-in environments only.
      ...(e.environments
        ? { environments: e.environments.filter((x) => ['production', 'staging', 'dev'].includes(x)) }
        : {}),
    }));
  return `# exported by customs ${VERSION} from the server's exceptions\n${YAML.stringify({ ignores })}`;
}

/**
 * OpenVEX: each vulnerability exception as a `not_affected` statement (an exception is a person's
 * judgement, so the justification says so in the impact statement, not a machine-checked reason).
 */
export function toOpenVex(list: ExceptionRecord[], author: string, at = new Date()): object {
  const statements = list
    .filter((e) => e.state === 'active' && e.vulnerability)
    .map((e) => ({
      vulnerability: { name: e.vulnerability },
      timestamp: e.approvedAt ?? e.createdAt,
      products: [
        {
          '@id': e.digest
            ? `pkg:oci/${e.repository?.split('/').pop() ?? 'image'}@${encodeURIComponent(e.digest)}`
            : e.repository
              ? `pkg:oci/${e.repository.split('/').pop()}?repository_url=${encodeURIComponent(e.repository)}`
              : 'pkg:oci/*',
          ...(e.package ? { subcomponents: [{ '@id': e.package }] } : {}),
        },
      ],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      impact_statement: `${e.reason} (exception ${e.id}, expires ${e.expiresAt})`,
    }));
  return {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `https://customs.invalid/vex/exceptions-${at.getTime()}`,
    author,
    timestamp: at.toISOString(),
    version: 1,
    tooling: `customs/${VERSION}`,
    statements,
  };
}
