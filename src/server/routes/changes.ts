import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Db } from '../../store/db.js';
import { findingEvents } from '../../store/finding-events.js';
import { authErrors, errorSchema } from '../errors.js';
import { DigestParam } from '../schemas/common.js';
import { FindingChange } from '../schemas/changes.js';

/** What each database update changed in an image's findings. */
export function changeRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/v1/images/:digest/changes',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Findings that appeared, went away or changed for an image, and the database version that did it',
        tags: ['images'],
        params: DigestParam,
        response: { 200: Type.Array(FindingChange), 400: errorSchema, ...authErrors },
      },
    },
    async (req) => findingEvents(s.db, req.params.digest),
  );
}
