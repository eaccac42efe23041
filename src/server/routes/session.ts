import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { actorOf } from '../../gate/settings.js';
import { revokeToken } from '../../store/auth.js';
import type { Db } from '../../store/db.js';
import { csrfOf, principalOfRequest, SESSION_COOKIE } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import type { Oidc } from '../oidc.js';
import { Credentials, NoContent } from '../schemas/common.js';
import { SessionAnswer, SignInMethods } from '../schemas/session.js';
import { passwordSignIn, signInLimiter, startCookieSession } from '../sessions.js';
import type { ResourceDeps } from './deps.js';

/** The dashboard's cookie session (with its CSRF token): sign in, who is signed in, sign out. */
export function sessionRoutes(
  base: FastifyInstance,
  s: { db: Db; secure: ResourceDeps['secure']; oidc?: Oidc },
): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.post(
    '/api/v1/auth/session',
    {
      onRequest: signInLimiter(base),
      schema: {
        summary: 'Sign in to the dashboard: a 12-hour session in an HttpOnly, SameSite=Strict cookie',
        tags: ['auth'],
        security: [],
        body: Credentials,
        response: { 200: SessionAnswer, 400: errorSchema, 401: errorSchema, 429: errorSchema },
      },
    },
    async (req, reply) => {
      const u = await passwordSignIn(db, req.body.username, req.body.password, req.ip);
      return startCookieSession(
        db,
        reply,
        s.secure(req),
        { id: u.id, name: req.body.username, role: u.role, environments: u.environments },
        'password',
      );
    },
  );

  app.get(
    '/api/v1/auth/methods',
    {
      schema: {
        summary: 'How one signs in here: password, and single sign-on when an OIDC provider is configured',
        tags: ['auth'],
        security: [],
        response: { 200: SignInMethods },
      },
    },
    async () => ({ password: true, oidc: !!s.oidc }),
  );

  app.get(
    '/api/v1/auth/session',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Who is signed in, what they may do, and the CSRF token of a cookie session',
        tags: ['auth'],
        response: { 200: SessionAnswer, ...authErrors },
      },
    },
    async (req) => {
      const p = principalOfRequest(req);
      const cookie = req.cookies[SESSION_COOKIE];
      return {
        name: actorOf(p)
          .replace(/^(user|token):/, '')
          .replace(/#\d+$/, ''),
        role: p.role,
        permissions: p.permissions,
        environments: p.environments,
        csrfToken: cookie && !req.headers.authorization ? csrfOf(cookie) : null,
        expiresAt: p.expiresAt,
      };
    },
  );

  app.delete(
    '/api/v1/auth/session',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Sign out: the session token is revoked',
        tags: ['auth'],
        response: { 204: NoContent, ...authErrors },
      },
    },
    async (req, reply) => {
      const p = principalOfRequest(req);
      if (p.userId) await revokeToken(db, p.id);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      reply.clearCookie('customs_signed_in', { path: '/' });
      reply.code(204);
      return null;
    },
  );
}
