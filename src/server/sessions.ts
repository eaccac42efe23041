import type { FastifyInstance, FastifyReply } from 'fastify';
import { permissionsOf } from '../model/roles.js';
import { csrfOf, SESSION_COOKIE } from './auth.js';
import { withAudit } from '../services/audit.js';
import { authenticate, createToken, expiryFrom } from '../store/auth.js';
import type { Db } from '../store/db.js';
import {
  clearSignInFailures,
  countSignInFailure,
  forgetSignInFailures,
  lockSignIn,
  signInFailures,
} from '../store/sign-in.js';
import { DomainError } from '../services/errors.js';

export interface SessionUser {
  id: number;
  name: string;
  role: string;
  environments: string[] | null;
}

/**
 * A user's 12-hour session token (API sign-in, dashboard cookie, single sign-on), issued with its
 * `session.start` audit entry in one transaction.
 */
export async function openSession(
  db: Db,
  u: SessionUser,
  details: Record<string, unknown>,
): Promise<{ token: string; expiresAt: string }> {
  const expiresAt = expiryFrom('12h')!;
  const { token } = await withAudit({ db, actor: `user:${u.name}` }, 'session.start', async (trx) => {
    const t = await createToken(trx, {
      name: `session:${u.name}`,
      role: u.role,
      userId: u.id,
      createdBy: u.name,
      expiresAt,
      environments: u.environments,
    });
    return { value: t, subject: `token:${t.id}`, details };
  });
  return { token, expiresAt };
}

/** A dashboard session as its sign-in answers it (schemas/session.ts `SessionAnswer`). */
export interface CookieSession {
  name: string;
  role: string;
  permissions: string[];
  environments: string[] | null;
  csrfToken: string;
  expiresAt: string;
}

/** A 12-hour dashboard session for a user (password or single sign-on): token, cookies, audit entry. */
export async function startCookieSession(
  db: Db,
  reply: FastifyReply,
  secure: boolean,
  u: SessionUser,
  via: 'password' | 'oidc',
): Promise<CookieSession> {
  const { token, expiresAt } = await openSession(db, u, {
    role: u.role,
    environments: u.environments,
    via,
  });
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    expires: new Date(expiresAt),
  });
  // A readable marker so the page knows to ask who is signed in (the session cookie it cannot read).
  reply.setCookie('customs_signed_in', '1', {
    sameSite: 'strict',
    secure,
    path: '/',
    expires: new Date(expiresAt),
  });
  return {
    name: u.name,
    role: u.role,
    permissions: permissionsOf(u.role, null),
    environments: u.environments,
    csrfToken: csrfOf(token),
    expiresAt,
  };
}

/**
 * Password sign-in is throttled twice. Per address, by @fastify/rate-limit on the sign-in routes
 * (in memory: each replica counts its own callers, which only multiplies an attacker's rate by the
 * replica count). Per account, here, in the store (`sign_in_failures`), so the lockout holds on
 * every replica sharing PostgreSQL: `maxFailures` wrong passwords within `windowMs` lock the name
 * for `lockMs`, during which even the right password is refused without being checked. Unknown
 * names are counted and locked the same way, so a lockout tells nothing about who exists.
 */
export const SIGN_IN_LIMITS = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
  /** Per address and replica, both sign-in routes together. */
  perAddressPerMinute: 20,
};

/**
 * The per-address limit of the sign-in routes (their `onRequest`): one handler per server, so both
 * routes draw on one budget per address (each call of `app.rateLimit(options)`, like a route's
 * `config.rateLimit`, counts in a store of its own).
 */
const limiters = new WeakMap<FastifyInstance, ReturnType<FastifyInstance['rateLimit']>>();
export function signInLimiter(app: FastifyInstance): ReturnType<FastifyInstance['rateLimit']> {
  let l = limiters.get(app);
  if (!l) {
    l = app.rateLimit({ max: SIGN_IN_LIMITS.perAddressPerMinute, timeWindow: 60_000 });
    limiters.set(app, l);
  }
  return l;
}

export async function passwordSignIn(
  db: Db,
  name: string,
  password: string,
  address: string,
): Promise<{ id: number; role: string; environments: string[] | null }> {
  const t = Date.now();
  const row = await signInFailures(db, name);
  if (row?.locked_until && Date.parse(row.locked_until) > t)
    throw new DomainError(
      'too_many',
      `too many failed sign-ins for ${name}: signing in is locked until ${row.locked_until}`,
      'locked',
    );
  const u = await authenticate(db, name, password);
  if (u) {
    if (row) await clearSignInFailures(db, name);
    return u;
  }
  const at = new Date(t).toISOString();
  const stale = new Date(t - SIGN_IN_LIMITS.windowMs).toISOString();
  const failures = await withAudit({ db, actor: 'anonymous' }, 'session.failed', async (trx) => {
    const n = await countSignInFailure(trx, name, at, stale);
    const also = [];
    if (n >= SIGN_IN_LIMITS.maxFailures) {
      const until = new Date(t + SIGN_IN_LIMITS.lockMs).toISOString();
      await lockSignIn(trx, name, until);
      also.push({
        actor: 'system',
        action: 'session.locked',
        subject: `user:${name}`,
        details: { address, failures: n, until },
      });
    }
    await forgetSignInFailures(trx, new Date(t - 86_400_000).toISOString());
    return { value: n, subject: `user:${name}`, details: { address, failures: n }, also };
  });
  throw new DomainError(
    'unauthorized',
    failures >= SIGN_IN_LIMITS.maxFailures
      ? `wrong user name or password; ${name} is now locked for ${SIGN_IN_LIMITS.lockMs / 60_000} minutes`
      : 'wrong user name or password',
  );
}
