import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { putRegistry, removeRegistry } from '../../services/settings.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import { listRegistries } from '../../store/registries.js';
import type { SecretBox } from '../../store/secret-box.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { NoContent } from '../schemas/common.js';
import { HostParam, RegistryInput, RegistryRecord } from '../schemas/registries.js';

/** Registries the server may pull from (admin). */
export function registryRoutes(base: FastifyInstance, deps: { db: Db; box: SecretBox }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db, box } = deps;
  const who = (req: FastifyRequest) => auditContext(db, req);

  app.post(
    '/api/v1/registries',
    {
      config: { permission: 'admin' },
      schema: {
        summary:
          'Configure a registry the server may pull from (credentials are stored encrypted, never returned)',
        tags: ['settings'],
        body: RegistryInput,
        response: { 201: RegistryRecord, 400: errorSchema, ...authErrors },
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
        response: { 200: Type.Array(RegistryRecord), ...authErrors },
      },
    },
    async () => listRegistries(db, box),
  );

  app.delete(
    '/api/v1/registries/:host',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Forget a registry',
        tags: ['settings'],
        params: HostParam,
        response: { 204: NoContent, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const done = await removeRegistry(who(req), req.params.host);
      if (!done) throw new DomainError('not_found', `no registry ${req.params.host}`);
      reply.code(204);
      return null;
    },
  );
}
