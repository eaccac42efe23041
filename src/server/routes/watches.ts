import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { putWatch, removeWatch } from '../../services/settings.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import { findRegistry } from '../../store/registries.js';
import { listWatches } from '../../store/watches.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { IdParam, NoContent } from '../schemas/common.js';
import { WatchInput, WatchRecord } from '../schemas/watches.js';

/** Repositories polled for new tags, for registries without webhooks (admin). */
export function watchRoutes(base: FastifyInstance, deps: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const who = (req: FastifyRequest) => auditContext(db, req);

  app.post(
    '/api/v1/watches',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Poll a repository of a configured registry for new tags (for registries without webhooks)',
        tags: ['settings'],
        body: WatchInput,
        response: { 201: WatchRecord, 400: errorSchema, 404: errorSchema, ...authErrors },
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
        response: { 200: Type.Array(WatchRecord), ...authErrors },
      },
    },
    async () => listWatches(db),
  );

  app.delete(
    '/api/v1/watches/:id',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Stop watching a repository',
        tags: ['settings'],
        params: IdParam,
        response: { 204: NoContent, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const done = await removeWatch(who(req), req.params.id);
      if (!done) throw new DomainError('not_found', `no watch ${req.params.id}`);
      reply.code(204);
      return null;
    },
  );
}
