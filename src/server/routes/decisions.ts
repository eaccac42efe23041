import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { evaluate } from '../../gate/evaluate.js';
import { gateSettings } from '../../gate/settings.js';
import { checkTrust } from '../../gate/trust.js';
import { DomainError, asInvalid } from '../../services/errors.js';
import { authErrors, errorSchema } from '../errors.js';
import { DigestParam } from '../schemas/common.js';
import { DecisionAnswer, EnvironmentQuery, VerifyAnswer } from '../schemas/decisions.js';
import type { GateDeps } from './deps.js';

/** An image's decision per environment: what admission answers, and the trust check behind it. */
export function decisionRoutes(base: FastifyInstance, s: GateDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.get(
    '/api/v1/images/:digest/decision',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Whether an image may run in an environment now, and why (what admission answers)',
        tags: ['gate'],
        params: DigestParam,
        querystring: EnvironmentQuery,
        response: { 200: DecisionAnswer, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) =>
      asInvalid(() => evaluate(db, req.params.digest, req.query.environment, { policy: s.policy })),
  );

  app.post(
    '/api/v1/images/:digest/verify',
    {
      config: { permission: 'report' },
      schema: {
        summary: "Check the image's signatures and provenance against an environment's trust rules now",
        tags: ['gate'],
        params: DigestParam,
        body: EnvironmentQuery,
        response: { 200: VerifyAnswer, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const g = await gateSettings(db, req.body.environment);
      if (!g) throw new DomainError('not_found', `no environment ${req.body.environment}`);
      const v = await asInvalid(() => checkTrust(db, s.box, req.params.digest, g.trust));
      s.admission.changed();
      s.attest(req.params.digest);
      return { trusted: v.trusted, reason: v.reason, signatures: v.signatures?.signatures ?? [] };
    },
  );
}
