import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  createException,
  listExceptions,
  revokeException,
  signOffException,
  toIgnoreFile,
  toOpenVex,
} from '../../gate/exceptions.js';
import { actorOf } from '../../gate/settings.js';
import { asInvalid } from '../../services/errors.js';
import { withPeople } from '../../services/people.js';
import { principalOfRequest as principal } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { IdParam } from '../schemas/common.js';
import {
  ExceptionAnswer,
  ExceptionInput,
  ExceptionQuery,
  ExportAnswer,
  ExportQuery,
  RevokeInput,
} from '../schemas/exceptions.js';
import type { GateDeps } from './deps.js';

/** Exceptions: a vulnerability or policy rule waived, with a reason, an expiry and a sign-off. */
export function exceptionRoutes(base: FastifyInstance, s: GateDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.post(
    '/api/v1/exceptions',
    {
      config: { permission: 'report' },
      schema: {
        summary:
          'Waive a vulnerability (optionally in one package) or a policy rule, with a reason and an expiry; pending until signed off where the environment asks',
        tags: ['gate'],
        body: ExceptionInput,
        response: { 201: ExceptionAnswer, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const e = await asInvalid(() => createException(db, principal(req), req.body));
      s.admission.changed();
      // A pending exception changes nothing until it is signed off.
      if (e.state === 'active') s.attest(e.digest);
      reply.code(201);
      return e;
    },
  );

  app.get(
    '/api/v1/exceptions',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Exceptions, newest first',
        tags: ['gate'],
        querystring: ExceptionQuery,
        response: { 200: Type.Array(ExceptionAnswer), 400: errorSchema, ...authErrors },
      },
    },
    async (req) =>
      withPeople(db, await listExceptions(db, req.query), ['createdBy', 'approvedBy', 'revokedBy']),
  );

  app.get(
    '/api/v1/exceptions/export',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The vulnerability exceptions in force as .customsignore.yaml or an OpenVEX document',
        tags: ['gate'],
        querystring: ExportQuery,
        response: { 200: ExportAnswer, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const list = await listExceptions(db, { state: 'active', environment: req.query.environment });
      if (req.query.format === 'openvex') {
        reply.type('application/json');
        return JSON.stringify(toOpenVex(list, `customs server (${actorOf(principal(req))})`));
      }
      reply.type('application/yaml');
      return toIgnoreFile(list);
    },
  );

  app.post(
    '/api/v1/exceptions/:id/approve',
    {
      config: { permission: 'approve' },
      schema: {
        summary: 'Sign off a pending exception (an approver for every environment it covers)',
        tags: ['gate'],
        params: IdParam,
        response: {
          200: ExceptionAnswer,
          400: errorSchema,
          404: errorSchema,
          409: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const e = await asInvalid(() => signOffException(db, principal(req), req.params.id));
      s.admission.changed();
      if (e.state === 'active') s.attest(e.digest);
      return e;
    },
  );

  app.post(
    '/api/v1/exceptions/:id/revoke',
    {
      config: { permission: 'report' },
      schema: {
        summary: 'Revoke an exception (its author, or an approver for its environments)',
        tags: ['gate'],
        params: IdParam,
        body: RevokeInput,
        response: {
          200: ExceptionAnswer,
          400: errorSchema,
          404: errorSchema,
          409: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const e = await asInvalid(() => revokeException(db, principal(req), req.params.id, req.body.reason));
      s.admission.changed();
      s.attest(e.digest);
      return e;
    },
  );
}
