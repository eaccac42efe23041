import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { issueToken, revokeTokenAudited } from '../../services/settings.js';
import { DomainError } from '../../services/errors.js';
import { personOf } from '../../services/people.js';
import { listTokens } from '../../store/auth.js';
import type { Db } from '../../store/db.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { IdParam, NoContent } from '../schemas/common.js';
import { IssuedToken, TokenInput, TokenRecord } from '../schemas/tokens.js';

/** API tokens (admin): issued once, listed without their secret, revoked. */
export function tokenRoutes(base: FastifyInstance, deps: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const who = (req: FastifyRequest) => auditContext(db, req);

  app.post(
    '/api/v1/tokens',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Issue an API token (shown once; stored hashed)',
        tags: ['settings'],
        body: TokenInput,
        response: { 201: IssuedToken, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const t = await issueToken(who(req), req.body, personOf(req.principal));
      reply.code(201);
      return t;
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'API tokens (never their secret)',
        tags: ['settings'],
        response: { 200: Type.Array(TokenRecord), ...authErrors },
      },
    },
    async () => listTokens(db),
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Revoke a token',
        tags: ['settings'],
        params: IdParam,
        response: { 204: NoContent, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const done = await revokeTokenAudited(who(req), req.params.id);
      if (!done) throw new DomainError('not_found', `no live token ${req.params.id}`);
      reply.code(204);
      return null;
    },
  );
}
