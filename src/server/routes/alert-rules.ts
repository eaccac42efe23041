import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { setAlertRulesAudited } from '../../services/environments.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import { findEnvironment } from '../../store/deployments.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { AlertRules, AlertRulesRecord } from '../schemas/alert-rules.js';
import { EnvParam } from '../schemas/common.js';

/** Which new findings raise an alert, per environment (admin). */
export function alertRuleRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const who = (req: FastifyRequest) => auditContext(s.db, req);
  app.put(
    '/api/v1/environments/:name/alert-rules',
    {
      config: { permission: 'admin' },
      schema: {
        summary:
          "Which new findings raise an alert in an environment (production's default: critical or KEV)",
        tags: ['alerts'],
        params: EnvParam,
        body: AlertRules,
        response: { 200: AlertRulesRecord, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      if (!(await findEnvironment(s.db, req.params.name)))
        throw new DomainError('not_found', `no environment ${req.params.name}`);
      await setAlertRulesAudited(who(req), req.params.name, req.body);
      return req.body;
    },
  );
}
