import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { environmentTrend } from '../../services/trends.js';
import type { Db } from '../../store/db.js';
import { authErrors, errorSchema } from '../errors.js';
import { EnvParam } from '../schemas/common.js';
import { TrendDay, TrendQuery } from '../schemas/trends.js';

/** An environment's trend: per day, what ran there and how it was graded then. */
export function trendRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/v1/environments/:name/trend',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Per day: the images running in an environment then, their worst grade and summed counts as scanned then',
        tags: ['monitoring'],
        params: EnvParam,
        querystring: TrendQuery,
        response: { 200: Type.Array(TrendDay), 400: errorSchema, ...authErrors },
      },
    },
    async (req) => environmentTrend(s.db, req.params.name, req.query.days ?? 30),
  );
}
