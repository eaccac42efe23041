import type { FastifyReply, FastifyRequest } from 'fastify';
import { findToken, type TokenRecord } from '../store/auth.js';
import type { Db } from '../store/db.js';
import { HttpError } from './errors.js';
import { permissionsOf, type Permission } from './roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TokenRecord & { permissions: Permission[] };
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    /** What a caller needs; routes without it are public (health, webhooks that verify themselves). */
    permission?: Permission;
  }
}

/** The bearer token of a request, checked against the store: who is calling and what they may do. */
export async function principalOf(db: Db, req: FastifyRequest): Promise<FastifyRequest['principal']> {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  if (!m) return undefined;
  const t = await findToken(db, m[1]);
  return t ? { ...t, permissions: permissionsOf(t.role, t.scopes) } : undefined;
}

/** onRequest hook: 401 without a live token, 403 without the route's permission. */
export function requirePermission(db: Db) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const need = req.routeOptions.config?.permission;
    if (!need) return;
    const p = await principalOf(db, req);
    if (!p)
      throw new HttpError(401, 'unauthorized', 'a valid API token is required (Authorization: Bearer …)');
    if (!p.permissions.includes(need))
      throw new HttpError(
        403,
        'forbidden',
        `this token (role ${p.role}) may not ${need === 'admin' ? 'change settings' : need}`,
      );
    req.principal = p;
  };
}
