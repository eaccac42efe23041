import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { audit } from '../../services/audit.js';
import { DomainError } from '../../services/errors.js';
import { upsertOidcUser } from '../../store/auth.js';
import type { Db } from '../../store/db.js';
import { roleFor, type Oidc } from '../oidc.js';
import { OidcCallbackQuery } from '../schemas/session.js';
import { startCookieSession } from '../sessions.js';
import type { ResourceDeps } from './deps.js';

const OIDC_COOKIE = 'customs_oidc';
const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page the browser lands on after the provider: signed in (and on to the dashboard), or why not. */
const page = (reply: FastifyReply, status: number, title: string, body: string) =>
  reply
    .code(status)
    .type('text/html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>${
        status === 200 ? '<meta http-equiv="refresh" content="0;url=/">' : ''
      }</head><body><main><h1>${esc(title)}</h1><p>${body}</p></main></body></html>`,
    );

/** Single sign-on through an OIDC provider: to it, and back into a dashboard session. */
export function oidcRoutes(
  base: FastifyInstance,
  s: { db: Db; secure: ResourceDeps['secure']; oidc?: Oidc },
): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  /** The provider, or a 404 that says none is configured. */
  const provider = (): Oidc => {
    if (!s.oidc)
      throw new DomainError('not_found', 'no OIDC provider is configured (--oidc-issuer)', 'not_configured');
    return s.oidc;
  };

  app.get(
    '/api/v1/auth/oidc/login',
    {
      schema: {
        summary: 'Start single sign-on: a redirect to the OIDC provider',
        tags: ['auth'],
        security: [],
      },
    },
    async (req, reply) => {
      const { url, pending } = await provider().start();
      // Lax, not Strict: the provider sends the browser back with a cross-site top-level GET.
      reply.setCookie(OIDC_COOKIE, pending, {
        httpOnly: true,
        sameSite: 'lax',
        secure: s.secure(req),
        path: '/api/v1/auth/oidc',
        maxAge: 600,
      });
      return reply.redirect(url, 302);
    },
  );

  app.get(
    '/api/v1/auth/oidc/callback',
    {
      schema: {
        summary: 'Where the OIDC provider sends the browser back; starts a session and goes to the dashboard',
        tags: ['auth'],
        security: [],
        querystring: OidcCallbackQuery,
      },
    },
    async (req, reply) => {
      const oidc = provider();
      const pending = req.cookies[OIDC_COOKIE];
      reply.clearCookie(OIDC_COOKIE, { path: '/api/v1/auth/oidc' });
      const url = new URL(req.url, oidc.s.redirectUri);
      let who;
      try {
        who = await oidc.finish(url, pending);
      } catch (err) {
        req.log.warn({ reason: (err as Error).message }, 'OIDC sign-in refused');
        return page(reply, 401, 'Sign-in failed', `${esc((err as Error).message)} <a href="/">Back</a>`);
      }
      const grant = roleFor(who.groups, oidc.s);
      if (!grant) {
        await audit({ db, actor: `user:${who.name}` }, 'session.refused', `oidc:${who.subject}`, {
          groups: who.groups,
        });
        return page(
          reply,
          403,
          'Not allowed here',
          `${esc(who.name)} is in no group this server grants a role to.`,
        );
      }
      let user;
      try {
        user = await upsertOidcUser(db, { name: who.name, ...grant });
      } catch (err) {
        return page(reply, 409, 'Sign-in refused', esc((err as Error).message));
      }
      await startCookieSession(db, reply, s.secure(req), { id: user.id, name: who.name, ...grant }, 'oidc');
      return page(reply, 200, 'Signed in', 'Going to the dashboard… <a href="/">continue</a>');
    },
  );
}
