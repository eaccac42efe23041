import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from '../../store/db.js';
import { registrySecrets } from '../../store/registries.js';
import type { SecretBox } from '../../store/secret-box.js';
import { principalOf } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { ingestPushes, type Services } from '../../services/ingest.js';
import { PushAccepted, PushEventBody } from '../schemas/webhooks.js';
import { receivers } from '../webhooks/index.js';
import { MalformedEvent, type PushEvent } from '../webhooks/types.js';
import { DomainError } from '../../services/errors.js';

/** Registry push notifications, one route per receiver (server/webhooks/). */
export function webhookRoutes(
  base: FastifyInstance,
  s: Services & { box: SecretBox; metrics: Metrics; db: Db },
): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  for (const r of receivers) {
    app.post(
      `/webhooks/${r.name}`,
      {
        schema: {
          summary: `${r.name} push notifications (${r.auth === 'token' ? 'bearer token with the webhook permission' : 'verified with the registry’s webhook secret'})`,
          tags: ['webhooks'],
          security: r.auth === 'token' ? [{ bearer: [] }] : [],
          body: PushEventBody,
          response: { 202: PushAccepted, 400: errorSchema, ...authErrors },
        },
      },
      async (req, reply) => {
        const count = (result: string) => s.metrics.webhookEvents.inc({ receiver: r.name, result });
        if (r.auth === 'token') {
          const p = await principalOf(s.db, req);
          if (!p) {
            count('unauthorized');
            throw new DomainError('unauthorized', 'a webhook token is required (Authorization: Bearer …)');
          }
          if (!p.permissions.includes('webhook')) {
            count('forbidden');
            throw new DomainError('forbidden', `a token of role ${p.role} may not deliver webhooks`);
          }
        }
        let events: PushEvent[];
        try {
          events = r.events(req.body);
        } catch (err) {
          count('malformed');
          if (err instanceof MalformedEvent) throw new DomainError('invalid', err.message, 'malformed_event');
          throw err;
        }
        if (r.auth === 'secret') {
          // Each registry named must be configured with a secret, and the request must prove it.
          for (const host of new Set(events.map((e) => e.registry))) {
            const secrets = await registrySecrets(s.db, s.box, host);
            if (!secrets) {
              count('refused');
              throw new DomainError(
                'forbidden',
                `registry ${host} is not configured on this server; nothing was queued`,
                'registry_not_configured',
              );
            }
            const raw = {
              body: req.rawBody ?? Buffer.alloc(0),
              headers: req.headers,
              query: req.query as Record<string, string>,
            };
            if (!secrets.webhookSecret || !r.verify!(raw, secrets.webhookSecret)) {
              count('bad_signature');
              throw new DomainError(
                'unauthorized',
                `the ${r.name} webhook signature or secret does not verify`,
                'bad_signature',
              );
            }
          }
        }
        const out = await ingestPushes(s, events, `webhook:${r.name}`).catch((err) => {
          count('refused');
          throw err;
        });
        count('accepted');
        reply.code(202);
        return out;
      },
    );
  }
}
