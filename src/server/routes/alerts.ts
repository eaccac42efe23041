import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { listAlerts } from '../../store/alerts.js';
import type { Db } from '../../store/db.js';
import { authErrors } from '../errors.js';
import { AlertRecord } from '../schemas/alerts.js';

/** The record of every alert delivery. */
export function alertRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/v1/alerts',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Alert deliveries, newest first: what was sent where, and whether it landed',
        tags: ['alerts'],
        response: { 200: Type.Array(AlertRecord), ...authErrors },
      },
    },
    async () => listAlerts(s.db),
  );
}
