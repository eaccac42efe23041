import type { FastifyInstance } from 'fastify';
import { authErrors } from '../errors.js';
import type { Leadership } from '../singletons.js';

/** Who does what in a deployment of several replicas: which replica runs each singleton task. */
export function clusterRoutes(
  app: FastifyInstance,
  s: { lifecycle?: { draining: boolean; leadership?: Leadership } },
): void {
  app.get(
    '/api/v1/cluster',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The replica answering, and which replica leads each singleton task',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            required: ['replica', 'draining', 'singletons'],
            properties: {
              replica: { type: 'string', description: 'the replica that answered (host:pid)' },
              draining: { type: 'boolean' },
              singletons: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['task', 'replica'],
                  properties: { task: { type: 'string' }, replica: { type: ['string', 'null'] } },
                },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => {
      const l = s.lifecycle?.leadership;
      return {
        replica: l?.replica ?? 'starting',
        draining: !!s.lifecycle?.draining,
        singletons: l ? await l.leaders() : [],
      };
    },
  );
}
