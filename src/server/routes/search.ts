import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { searchFleet } from '../../services/search.js';
import type { Db } from '../../store/db.js';
import { authErrors, errorSchema } from '../errors.js';
import { SearchAnswer, SearchQuery } from '../schemas/search.js';

/** Search across stored images: by vulnerability, package (and version), repository, tag or digest. */
export function searchRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/v1/search',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Images holding a package (and version), affected by a vulnerability, or matching a repository, tag or digest; with where each runs',
        tags: ['images'],
        querystring: SearchQuery,
        response: { 200: SearchAnswer, 400: errorSchema, ...authErrors },
      },
    },
    async (req) =>
      searchFleet(s.db, {
        q: req.query.q,
        vulnerability: req.query.vulnerability,
        package: req.query.package,
        version: req.query.version,
        limit: req.query.limit,
      }),
  );
}
