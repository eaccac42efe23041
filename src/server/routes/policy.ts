import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Policy } from '../../policy/policy.js';
import { authErrors } from '../errors.js';
import { PolicyDocument } from '../schemas/policy.js';

/** The policy the server judges environments by. */
export function policyRoutes(base: FastifyInstance, s: { policy: Policy }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/v1/policy',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'The policy the server judges environments by (its --policy file, or the built-in one): rules per environment',
        tags: ['gate'],
        response: { 200: PolicyDocument, ...authErrors },
      },
    },
    async () => s.policy,
  );
}
