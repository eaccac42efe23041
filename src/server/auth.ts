import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findToken, type TokenRecord } from '../store/auth.js';
import type { Db } from '../store/db.js';
import { actorOf, type Principal } from '../gate/settings.js';
import type { AuditContext } from '../services/audit.js';
import { permissionsOf, type Permission } from '../model/roles.js';
import { DomainError } from '../services/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TokenRecord & { permissions: Permission[] };
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    /** What a caller needs; routes without it are public (health, webhooks that verify themselves). */
    permission?: Permission;
    /** What the route does, in words, for the refusal of a caller without the permission. */
    doing?: string;
  }
}

/** The dashboard's session cookie: HttpOnly, so page scripts never see the token inside. */
export const SESSION_COOKIE = 'customs_session';

/**
 * The CSRF token of a session: derived from the session token, which a cross-site page cannot
 * read (HttpOnly cookie), so it cannot compute this either. The dashboard sends it in
 * `X-CSRF-Token` with every state-changing request; SameSite=Strict is the first line.
 */
export const csrfOf = (sessionToken: string) =>
  createHash('sha256').update(`customs-csrf:${sessionToken}`).digest('base64url');

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Who is calling: a bearer token (CLI, CI, registries, the Kubernetes API server), else the
 * dashboard's session cookie — which, for state-changing requests, must come with its CSRF token.
 */
export async function principalOf(db: Db, req: FastifyRequest): Promise<FastifyRequest['principal']> {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  let token = m?.[1];
  if (!token) {
    const cookie = req.cookies?.[SESSION_COOKIE];
    if (!cookie) return undefined;
    if (UNSAFE.has(req.method) && req.headers['x-csrf-token'] !== csrfOf(cookie))
      throw new DomainError(
        'forbidden',
        'a state-changing request from the dashboard needs its X-CSRF-Token',
        'csrf',
      );
    token = cookie;
  }
  const t = await findToken(db, token);
  return t ? { ...t, permissions: permissionsOf(t.role, t.scopes) } : undefined;
}

/** onRequest hook: 401 without a live token, 403 without the route's permission. */
export function requirePermission(db: Db) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const need = req.routeOptions.config?.permission;
    if (!need) return;
    const p = await principalOf(db, req);
    if (!p)
      throw new DomainError('unauthorized', 'sign in, or give a valid API token (Authorization: Bearer …)');
    if (!p.permissions.includes(need)) {
      const doing = req.routeOptions.config?.doing ?? (need === 'admin' ? 'change settings' : need);
      const who = p.userId ? p.name.replace(/^session:/, '') : 'this token';
      throw new DomainError('forbidden', `${who} (role ${p.role}) may not ${doing}`);
    }
    req.principal = p;
  };
}

/** The audit context of a request: the store, and who is asking (as the audit log names them). */
export function auditContext(db: Db, req: FastifyRequest): AuditContext {
  return { db, actor: actorOf(req.principal as Principal | undefined) };
}

/** Who is asking, on a route with a permission (the hook above has set it; public routes have none). */
export const principalOfRequest = (req: FastifyRequest): Principal => req.principal as Principal;
