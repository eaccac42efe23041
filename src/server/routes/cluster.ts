import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { authErrors } from '../errors.js';
import { ClusterState } from '../schemas/cluster.js';
import type { Leadership } from '../singletons.js';

/** Who does what in a deployment of several replicas: which replica runs each singleton task. */
export function clusterRoutes(
  base: FastifyInstance,
  s: { lifecycle?: { draining: boolean; leadership?: Leadership } },
): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/v1/cluster',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The replica answering, and which replica leads each singleton task',
        tags: ['operations'],
        response: { 200: ClusterState, ...authErrors },
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
