import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { addUser, changeUser } from '../../services/settings.js';
import { DomainError } from '../../services/errors.js';
import { listUsers } from '../../store/auth.js';
import type { Db } from '../../store/db.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { IdParam } from '../schemas/common.js';
import { UserChange, UserCreated, UserInput, UserRecord } from '../schemas/users.js';

/** Users who sign in with a password, and their roles (admin). */
export function userRoutes(base: FastifyInstance, deps: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const who = (req: FastifyRequest) => auditContext(db, req);

  app.post(
    '/api/v1/users',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Create a user who signs in with a password',
        tags: ['settings'],
        body: UserInput,
        response: { 201: UserCreated, 400: errorSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      try {
        const id = await addUser(who(req), req.body);
        reply.code(201);
        return { id };
      } catch (err) {
        if (/unique|duplicate/i.test((err as Error).message))
          throw new DomainError('conflict', `user ${req.body.name} exists`);
        throw err;
      }
    },
  );

  app.get(
    '/api/v1/users',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Users and their roles',
        tags: ['settings'],
        response: { 200: Type.Array(UserRecord), ...authErrors },
      },
    },
    async () => listUsers(db),
  );

  app.put(
    '/api/v1/users/:id',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "Change a user's role or environments (their sessions end); audited",
        tags: ['settings'],
        params: IdParam,
        body: UserChange,
        response: { 200: UserRecord, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const u = await changeUser(who(req), req.params.id, req.body);
      if (!u) throw new DomainError('not_found', `no user ${req.params.id}`);
      return u;
    },
  );
}
