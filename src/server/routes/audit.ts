import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { listAudit, verifyAudit } from '../../gate/audit.js';
import type { Db } from '../../store/db.js';
import { withPeople } from '../../services/people.js';
import { authErrors, errorSchema } from '../errors.js';
import { AuditAnswer, AuditQuery, AuditVerdict } from '../schemas/audit.js';

/** The audit log, and the walk of its hash chain and signatures. */
export function auditRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.get(
    '/api/v1/audit',
    {
      config: { permission: 'approve' },
      schema: {
        summary: 'The audit log, newest first (approvers and admins)',
        tags: ['audit'],
        querystring: AuditQuery,
        response: { 200: Type.Array(AuditAnswer), 400: errorSchema, ...authErrors },
      },
    },
    async (req) => withPeople(db, await listAudit(db, req.query), ['actor']),
  );

  app.get(
    '/api/v1/audit/verify',
    {
      config: { permission: 'approve' },
      schema: {
        summary:
          "Walk the audit log's hash chain: ok, or the first entry that was edited, removed or inserted",
        tags: ['audit'],
        response: { 200: AuditVerdict, ...authErrors },
      },
    },
    async () => verifyAudit(db),
  );
}
