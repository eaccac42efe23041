import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CHANNELS } from '../../monitor/channels/index.js';
import { addChannelAudited } from '../../services/environments.js';
import { DomainError } from '../../services/errors.js';
import { listChannels, type ChannelType } from '../../store/alerts.js';
import type { Db } from '../../store/db.js';
import type { SecretBox } from '../../store/secret-box.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { ChannelRecord, channelInput } from '../schemas/channels.js';

/** Where alerts go: signed webhooks, Slack, Teams, email (admin). */
export function channelRoutes(base: FastifyInstance, s: { db: Db; box: SecretBox }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const who = (req: FastifyRequest) => auditContext(s.db, req);

  app.post(
    '/api/v1/channels',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Add an alert channel: a signed webhook, a Slack or Teams incoming webhook, or email',
        tags: ['alerts'],
        body: channelInput(CHANNELS.map((c) => c.type)),
        response: { 201: ChannelRecord, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const target = b.type === 'email' ? b.to : b.url;
      if (!target)
        throw new DomainError(
          'invalid',
          b.type === 'email' ? 'an email channel needs "to"' : `a ${b.type} channel needs "url"`,
        );
      if (b.secret && b.type !== 'webhook')
        throw new DomainError('invalid', 'only a webhook channel is signed');
      const c = await addChannelAudited(who(req), s.box, {
        // The schema's enum is CHANNELS' types.
        type: b.type as ChannelType,
        target,
        secret: b.secret,
        environments: b.environments,
      });
      reply.code(201);
      return c;
    },
  );

  app.get(
    '/api/v1/channels',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Alert channels',
        tags: ['alerts'],
        response: { 200: Type.Array(ChannelRecord), ...authErrors },
      },
    },
    async () => listChannels(s.db),
  );
}
