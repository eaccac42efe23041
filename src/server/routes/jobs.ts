import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { JobQueue } from '../../jobs/queue.js';
import { authErrors } from '../errors.js';
import { JobsState } from '../schemas/jobs.js';

/** The job queue: depth and dead letters (admin). */
export function jobRoutes(base: FastifyInstance, deps: { queue: JobQueue }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/v1/jobs',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Queue depth and dead-lettered jobs with their reasons',
        tags: ['operations'],
        response: { 200: JobsState, ...authErrors },
      },
    },
    async () => ({ ...(await deps.queue.depth()), deadLetters: await deps.queue.failed(50) }),
  );
}
