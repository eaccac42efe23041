import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { defaultGate } from '../../gate/settings.js';
import { putEnvironmentAudited } from '../../services/environments.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import {
  environments,
  findEnvironment,
  history,
  running,
  runningCount,
  runningTallies,
} from '../../store/deployments.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { EnvParam } from '../schemas/common.js';
import {
  EnvironmentDetail,
  EnvironmentInput,
  EnvironmentRecord,
  EnvironmentSummary,
  HistoryEntry,
} from '../schemas/environments.js';

/** Environments: what runs in each now, and every deployment it had. */
export function environmentRoutes(base: FastifyInstance, s: { db: Db; gateChanged?: () => void }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const who = (req: FastifyRequest) => auditContext(s.db, req);

  app.get(
    '/api/v1/environments',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Environments, each with how many images run there and its worst grade',
        tags: ['monitoring'],
        response: { 200: Type.Array(EnvironmentSummary), ...authErrors },
      },
    },
    async () => {
      // One grouped query for every environment: no per-workload reads on the request path.
      const tallies = await runningTallies(s.db);
      const out = [];
      for (const e of await environments(s.db)) {
        const mine = tallies.filter((t) => t.environment === e.name);
        const grades = mine.map((t) => t.grade).filter((g): g is string => !!g);
        out.push({
          ...e,
          images: mine.reduce((n, t) => n + t.images, 0),
          worstGrade: grades.length ? grades.sort().at(-1)! : null,
          kev: mine.reduce((n, t) => n + t.kev, 0),
          critical: mine.reduce((n, t) => n + t.critical, 0),
        });
      }
      // Production first: teams start there.
      return out.sort((a, b) => Number(b.name === 'production') - Number(a.name === 'production'));
    },
  );

  app.post(
    '/api/v1/environments',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Add or change an environment',
        tags: ['monitoring'],
        body: EnvironmentInput,
        response: { 201: EnvironmentRecord, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      await putEnvironmentAudited(who(req), req.body, {
        signoff: defaultGate(req.body.name).exceptionSignoff,
      });
      // A new environment can put exceptions back to pending: decisions cached anywhere are stale.
      s.gateChanged?.();
      reply.code(201);
      return req.body;
    },
  );

  app.get(
    '/api/v1/environments/:name',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'What runs in an environment now: images with their grade and counts, worst first',
        tags: ['monitoring'],
        params: EnvParam,
        querystring: Type.Object(
          {
            limit: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 100_000,
                default: 500,
                description: 'images listed, worst first (`more` says how many are left out)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: EnvironmentDetail, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const e = await findEnvironment(s.db, req.params.name);
      if (!e) throw new DomainError('not_found', `no environment ${req.params.name}`);
      const limit = req.query.limit ?? 500;
      // Worst first (KEV, then critical, then risk), cut in the query: at 10,000 workloads every
      // row read and sent made the page take seconds.
      const images = await running(s.db, e.name, limit);
      const all = await runningCount(s.db, e.name);
      return { ...e, images, more: Math.max(0, all - images.length) };
    },
  );

  app.get(
    '/api/v1/environments/:name/history',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Every deployment in an environment, oldest first, with its grade and what it changed',
        tags: ['monitoring'],
        params: EnvParam,
        response: { 200: Type.Array(HistoryEntry), 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      if (!(await findEnvironment(s.db, req.params.name)))
        throw new DomainError('not_found', `no environment ${req.params.name}`);
      return history(s.db, req.params.name);
    },
  );
}
