import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { decideApproval, listApprovals, requestApproval } from '../../gate/approvals.js';
import { asInvalid } from '../../services/errors.js';
import { withPeople } from '../../services/people.js';
import { resolveImage } from '../../services/resolve.js';
import { authErrors, errorSchema } from '../errors.js';
import { ApprovalAnswer, ApprovalInput, ApprovalQuery } from '../schemas/approvals.js';
import { principalOfRequest as principal } from '../auth.js';
import type { GateDeps } from './deps.js';

/** Approvals: an image asked for, approved, rejected or revoked for an environment. */
export function approvalRoutes(base: FastifyInstance, s: GateDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.post(
    '/api/v1/approvals',
    {
      config: { permission: 'report', doing: 'approve or ask for approvals' },
      schema: {
        summary:
          'Request, approve, reject or revoke an image for an environment (approvers for that environment decide)',
        tags: ['gate'],
        body: ApprovalInput,
        response: {
          200: ApprovalAnswer,
          400: errorSchema,
          404: errorSchema,
          409: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const { digest, repository } = await resolveImage(db, s.box, req.body.image);
      const p = principal(req);
      const { decision, environment, reason } = req.body;
      const r = await asInvalid(() =>
        decision === 'request'
          ? requestApproval(db, p, digest, environment, reason)
          : decideApproval(db, p, digest, environment, decision, reason, { policy: s.policy, repository }),
      );
      s.admission.changed();
      // A request changes no decision; anything else may change the verdicts pushed beside it.
      if (decision !== 'request') s.attest(digest);
      return (await withPeople(db, [r], ['requestedBy', 'decidedBy']))[0];
    },
  );

  app.get(
    '/api/v1/approvals',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Approvals and requests, newest first (the queue: state=requested)',
        tags: ['gate'],
        querystring: ApprovalQuery,
        response: { 200: Type.Array(ApprovalAnswer), 400: errorSchema, ...authErrors },
      },
    },
    async (req) => withPeople(db, await listApprovals(db, req.query), ['requestedBy', 'decidedBy']),
  );
}
