import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { compareScans } from '../../compare/compare.js';
import { latestResult } from '../../gate/evaluate.js';
import { explainImageRisk } from '../../rank/explain.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import { authErrors, errorSchema } from '../errors.js';
import { CompareQuery, Comparison } from '../schemas/compare.js';

/** What changed from one stored image to another. */
export function compareRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/v1/compare',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'What changed from one stored image to another: packages, vulnerabilities fixed and introduced, grade, base',
        tags: ['images'],
        querystring: CompareQuery,
        response: { 200: Comparison, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const [a, b] = await Promise.all([
        latestResult(s.db, req.query.from),
        latestResult(s.db, req.query.to),
      ]);
      if (!a || !b) throw new DomainError('not_found', `no scan of ${!a ? req.query.from : req.query.to}`);
      const c = compareScans(a.result, b.result);
      // Each side's risk number in words, as the image page says it.
      return {
        ...c,
        from: { ...c.from, riskExplanation: explainImageRisk(a.result.findings).explanation },
        to: { ...c.to, riskExplanation: explainImageRisk(b.result.findings).explanation },
      };
    },
  );
}
