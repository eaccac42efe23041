import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JobQueue } from '../../jobs/queue.js';
import { listTokens, listUsers } from '../../store/auth.js';
import {
  addUser,
  changeUser,
  issueToken,
  putRegistry,
  putWatch,
  removeRegistry,
  removeWatch,
  revokeTokenAudited,
} from '../../services/settings.js';
import { openSession, passwordSignIn, signInLimiter } from '../sessions.js';
import { auditContext } from '../auth.js';
import type { Db } from '../../store/db.js';
import { findRegistry, listRegistries } from '../../store/registries.js';
import { listWatches } from '../../store/watches.js';
import type { SecretBox } from '../../store/secret-box.js';
import { authErrors, errorSchema } from '../errors.js';
import { PERMISSIONS, PERSON_ROLES, ROLES } from '../../model/roles.js';
import { registryRecord, tokenRecord, envName, credentials } from '../schemas.js';
import { DomainError } from '../../services/errors.js';
import { personOf } from '../../services/people.js';

const envList = {
  type: 'array',
  maxItems: 50,
  items: envName,
  description: 'limit to these environments (approvers: where they may approve)',
} as const;

export function adminRoutes(app: FastifyInstance, deps: { db: Db; box: SecretBox; queue: JobQueue }): void {
  const { db, box, queue } = deps;
  const who = (req: FastifyRequest) => auditContext(db, req);

  app.post<{
    Body: {
      url: string;
      insecure?: boolean;
      username?: string;
      password?: string;
      webhookSecret?: string;
      attest?: boolean;
      pushUsername?: string;
      pushPassword?: string;
    };
  }>(
    '/api/v1/registries',
    {
      config: { permission: 'admin' },
      schema: {
        summary:
          'Configure a registry the server may pull from (credentials are stored encrypted, never returned)',
        tags: ['settings'],
        body: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', minLength: 1, maxLength: 300 },
            insecure: { type: 'boolean' },
            username: { type: 'string', maxLength: 300 },
            password: { type: 'string', maxLength: 10000 },
            webhookSecret: { type: 'string', minLength: 16, maxLength: 1000 },
            attest: {
              type: 'boolean',
              description:
                "push signed scans and verdicts (the server's attestation key) beside this registry's images",
            },
            pushUsername: {
              type: 'string',
              maxLength: 300,
              description: 'the account attestations are pushed with (default: username)',
            },
            pushPassword: { type: 'string', maxLength: 10000 },
          },
        },
        response: { 201: registryRecord, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const r = await putRegistry(who(req), box, req.body);
      reply.code(201);
      return r;
    },
  );

  app.get(
    '/api/v1/registries',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Configured registries (no secrets)',
        tags: ['settings'],
        response: { 200: { type: 'array', items: registryRecord }, ...authErrors },
      },
    },
    async () => listRegistries(db, box),
  );

  app.delete<{ Params: { host: string } }>(
    '/api/v1/registries/:host',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Forget a registry',
        tags: ['settings'],
        params: { type: 'object', properties: { host: { type: 'string' } } },
        response: { 204: { type: 'null' }, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const done = await removeRegistry(who(req), req.params.host);
      if (!done) throw new DomainError('not_found', `no registry ${req.params.host}`);
      reply.code(204);
      return null;
    },
  );

  app.post<{
    Body: { name?: string; role: string; scopes?: string[]; expires?: string; environments?: string[] };
  }>(
    '/api/v1/tokens',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Issue an API token (shown once; stored hashed)',
        tags: ['settings'],
        body: {
          type: 'object',
          required: ['role'],
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              description: 'what it is for (default: the name of who issues it)',
            },
            role: { type: 'string', enum: [...ROLES] },
            scopes: { type: 'array', items: { type: 'string', enum: [...PERMISSIONS] } },
            expires: { type: 'string', pattern: '^\\d+[mhd]$', description: 'e.g. 30d, 12h' },
            environments: envList,
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['id', 'token', 'name'],
            properties: { id: { type: 'integer' }, token: { type: 'string' }, name: { type: 'string' } },
          },
          400: errorSchema,
          ...authErrors,
        },
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
        response: { 200: { type: 'array', items: tokenRecord }, ...authErrors },
      },
    },
    async () => listTokens(db),
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v1/tokens/:id',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Revoke a token',
        tags: ['settings'],
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        response: { 204: { type: 'null' }, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const done = await revokeTokenAudited(who(req), req.params.id);
      if (!done) throw new DomainError('not_found', `no live token ${req.params.id}`);
      reply.code(204);
      return null;
    },
  );

  app.post<{ Body: { name: string; role: string; password: string; environments?: string[] } }>(
    '/api/v1/users',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Create a user who signs in with a password',
        tags: ['settings'],
        body: {
          type: 'object',
          required: ['name', 'role', 'password'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', enum: [...PERSON_ROLES] },
            password: { type: 'string', minLength: 12, maxLength: 1000 },
            environments: envList,
          },
        },
        response: {
          201: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } },
          400: errorSchema,
          409: errorSchema,
          ...authErrors,
        },
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

  const userRecord = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      name: { type: 'string' },
      role: { type: 'string' },
      environments: { type: ['array', 'null'], items: { type: 'string' } },
      createdAt: { type: 'string' },
    },
  } as const;

  app.get(
    '/api/v1/users',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Users and their roles',
        tags: ['settings'],
        response: { 200: { type: 'array', items: userRecord }, ...authErrors },
      },
    },
    async () => listUsers(db),
  );

  app.put<{ Params: { id: number }; Body: { role?: string; environments?: string[] | null } }>(
    '/api/v1/users/:id',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "Change a user's role or environments (their sessions end); audited",
        tags: ['settings'],
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            role: { type: 'string', enum: [...PERSON_ROLES] },
            environments: { anyOf: [envList, { type: 'null' }] },
          },
        },
        response: { 200: userRecord, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const u = await changeUser(who(req), req.params.id, req.body);
      if (!u) throw new DomainError('not_found', `no user ${req.params.id}`);
      return u;
    },
  );

  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/auth/login',
    {
      onRequest: signInLimiter(app),
      schema: {
        summary: 'Sign in with a user name and password: a token valid for 12 hours',
        tags: ['auth'],
        security: [],
        body: credentials,
        response: {
          200: {
            type: 'object',
            required: ['token', 'role', 'expiresAt'],
            properties: {
              token: { type: 'string' },
              role: { type: 'string' },
              expiresAt: { type: 'string' },
            },
          },
          400: errorSchema,
          401: errorSchema,
          429: errorSchema,
        },
      },
    },
    async (req) => {
      const u = await passwordSignIn(db, req.body.username, req.body.password, req.ip);
      const { token, expiresAt } = await openSession(
        db,
        { id: u.id, name: req.body.username, role: u.role, environments: u.environments },
        { role: u.role },
      );
      return { token, role: u.role, expiresAt };
    },
  );

  const watchRecord = {
    type: 'object',
    required: ['id', 'registry', 'repository', 'intervalSeconds'],
    properties: {
      id: { type: 'integer' },
      registry: { type: 'string' },
      repository: { type: 'string' },
      intervalSeconds: { type: 'integer' },
      lastPolled: { type: ['string', 'null'] },
      lastError: { type: ['string', 'null'] },
      createdAt: { type: 'string' },
    },
  } as const;

  app.post<{ Body: { registry: string; repository: string; intervalSeconds?: number } }>(
    '/api/v1/watches',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Poll a repository of a configured registry for new tags (for registries without webhooks)',
        tags: ['settings'],
        body: {
          type: 'object',
          required: ['registry', 'repository'],
          additionalProperties: false,
          properties: {
            registry: { type: 'string', pattern: '^[a-zA-Z0-9.-]+(:\\d{1,5})?$' },
            repository: {
              type: 'string',
              pattern: '^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$',
              maxLength: 255,
            },
            intervalSeconds: { type: 'integer', minimum: 1, maximum: 86400, default: 300 },
          },
        },
        response: { 201: watchRecord, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const registry = req.body.registry.toLowerCase();
      if (!(await findRegistry(db, registry)))
        throw new DomainError(
          'not_found',
          `registry ${registry} is not configured; add it first`,
          'registry_not_configured',
        );
      const w = await putWatch(who(req), {
        registry,
        repository: req.body.repository,
        intervalSeconds: req.body.intervalSeconds ?? 300,
      });
      reply.code(201);
      return w;
    },
  );

  app.get(
    '/api/v1/watches',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Watched repositories',
        tags: ['settings'],
        response: { 200: { type: 'array', items: watchRecord }, ...authErrors },
      },
    },
    async () => listWatches(db),
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v1/watches/:id',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Stop watching a repository',
        tags: ['settings'],
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        response: { 204: { type: 'null' }, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const done = await removeWatch(who(req), req.params.id);
      if (!done) throw new DomainError('not_found', `no watch ${req.params.id}`);
      reply.code(204);
      return null;
    },
  );

  app.get(
    '/api/v1/jobs',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Queue depth and dead-lettered jobs with their reasons',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            required: ['queued', 'active', 'failed', 'deadLetters'],
            properties: {
              queued: { type: 'integer' },
              active: { type: 'integer' },
              failed: { type: 'integer' },
              deadLetters: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    key: { type: 'string' },
                    reason: { type: 'string' },
                    attempts: { type: 'integer' },
                    job: { type: 'object', additionalProperties: true },
                  },
                },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => ({ ...(await queue.depth()), deadLetters: await queue.failed(50) }),
  );
}
