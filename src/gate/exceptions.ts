import YAML from 'yaml';
import { GateError } from './errors.js';
import type { Db } from '../store/db.js';
import {
  getException,
  insertException,
  setExceptionState,
  unalertedActiveExceptions,
  type ExceptionInput,
  type ExceptionRecord,
} from '../store/exceptions.js';
import { VERSION } from '../version.js';
import { withAudit } from '../services/audit.js';
import { allGates, mayActFor, actorOf, type Principal } from './settings.js';

// The records and their SQL live in the store; re-exported here for the callers that knew them here.
export {
  activeExceptions,
  allActiveExceptions,
  exceptionsFor,
  getException,
  listExceptions,
  markExpiryAlerted,
  type ExceptionInput,
  type ExceptionRecord,
} from '../store/exceptions.js';

/**
 * Server-side exceptions (waivers): a vulnerability (optionally in one package), or a policy rule,
 * for every image, a repository or one digest, in some or all environments, with a reason and an
 * expiry. Where an environment asks for sign-off, an exception stays pending until an approver for
 * every environment it covers signs it (four-eyes environments: someone other than its author).
 */

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
  return withAudit({ db, actor: author }, 'exception.create', async (trx) => {
    const t = at.toISOString();
    const row = await insertException(trx, {
      ...input,
      expiresAt: new Date(expires).toISOString(),
      state,
      createdBy: author,
      at: t,
    });
    return {
      value: (await getException(trx, row.id, at))!,
      subject: `exception:${row.id}`,
      details: { ...input, environments: input.environments ?? null, state },
    };
  });
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
  return withAudit({ db, actor: actorOf(p) }, 'exception.approve', async (trx) => {
    await setExceptionState(trx, id, 'active', actorOf(p), at.toISOString());
    return { value: (await getException(trx, id, at))!, subject: `exception:${id}` };
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
  return withAudit({ db, actor: actorOf(p) }, 'exception.revoke', async (trx) => {
    await setExceptionState(trx, id, 'revoked', actorOf(p), at.toISOString());
    return { value: (await getException(trx, id, at))!, subject: `exception:${id}`, details: { reason } };
  });
}

/** Active exceptions whose expiry is within each environment's warning window and not yet alerted. */
export async function expiringExceptions(db: Db, at = new Date()): Promise<ExceptionRecord[]> {
  const gates = await allGates(db);
  return (await unalertedActiveExceptions(db, at)).filter((e) => {
    const envs = e.environments ?? [...gates.keys()];
    const days = Math.max(...envs.map((x) => gates.get(x)?.exceptionWarningDays ?? 7));
    return Date.parse(e.expiresAt) - at.getTime() <= days * 86_400_000;
  });
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
/**
 * A component's `@id` must be an IRI (OpenVEX schema): an exception's package given as a purl stays
 * one; a bare name becomes a generic purl of that name (no consumer reads it as a wider match).
 */
function packageIri(spec: string): string {
  return spec.startsWith('pkg:') ? spec : `pkg:generic/${encodeURIComponent(spec)}`;
}

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
          ...(e.package ? { subcomponents: [{ '@id': packageIri(e.package) }] } : {}),
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
