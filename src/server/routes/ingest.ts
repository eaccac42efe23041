import type { FastifyInstance } from 'fastify';
import type { Db } from '../../store/db.js';
import { registrySecrets } from '../../store/registries.js';
import type { SecretBox } from '../../store/secret-box.js';
import { principalOf } from '../auth.js';
import { authErrors, errorSchema, HttpError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { ingestPushes, ingestReport, type Report, type Services } from '../service.js';
import { receivers } from '../webhooks/index.js';
import { MalformedEvent, type PushEvent } from '../webhooks/types.js';

export function ingestRoutes(
  app: FastifyInstance,
  s: Services & { box: SecretBox; metrics: Metrics; db: Db },
): void {
  const accepted = {
    type: 'object',
    required: ['queued'],
    properties: { queued: { type: 'integer', description: 'scan jobs queued (duplicates fold into one)' } },
  } as const;

  for (const r of receivers) {
    app.post(
      `/webhooks/${r.name}`,
      {
        schema: {
          summary: `${r.name} push notifications (${r.auth === 'token' ? 'bearer token with the webhook permission' : 'verified with the registry’s webhook secret'})`,
          tags: ['webhooks'],
          security: r.auth === 'token' ? [{ bearer: [] }] : [],
          body: { type: 'object', additionalProperties: true },
          response: { 202: accepted, 400: errorSchema, ...authErrors },
        },
      },
      async (req, reply) => {
        const count = (result: string) => s.metrics.webhookEvents.inc({ receiver: r.name, result });
        if (r.auth === 'token') {
          const p = await principalOf(s.db, req);
          if (!p) {
            count('unauthorized');
            throw new HttpError(401, 'unauthorized', 'a webhook token is required (Authorization: Bearer …)');
          }
          if (!p.permissions.includes('webhook')) {
            count('forbidden');
            throw new HttpError(403, 'forbidden', `a token of role ${p.role} may not deliver webhooks`);
          }
        }
        let events: PushEvent[];
        try {
          events = r.events(req.body);
        } catch (err) {
          count('malformed');
          if (err instanceof MalformedEvent) throw new HttpError(400, 'malformed_event', err.message);
          throw err;
        }
        if (r.auth === 'secret') {
          // Each registry named must be configured with a secret, and the request must prove it.
          for (const host of new Set(events.map((e) => e.registry))) {
            const secrets = await registrySecrets(s.db, s.box, host);
            if (!secrets) {
              count('refused');
              throw new HttpError(
                403,
                'registry_not_configured',
                `registry ${host} is not configured on this server; nothing was queued`,
              );
            }
            const raw = {
              body: req.rawBody ?? Buffer.alloc(0),
              headers: req.headers,
              query: req.query as Record<string, string>,
            };
            if (!secrets.webhookSecret || !r.verify!(raw, secrets.webhookSecret)) {
              count('bad_signature');
              throw new HttpError(
                401,
                'bad_signature',
                `the ${r.name} webhook signature or secret does not verify`,
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

  app.post<{ Body: Report }>(
    '/api/v1/reports',
    {
      config: { permission: 'report' },
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        summary: 'A CI scan uploads its inventory; the server re-matches it with its own database',
        tags: ['ingest'],
        body: {
          type: 'object',
          required: ['image', 'packages'],
          properties: {
            image: {
              type: 'object',
              required: ['name'],
              additionalProperties: true,
              properties: {
                name: { type: 'string' },
                manifestDigest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
                configDigest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
                repoTags: { type: 'array', items: { type: 'string' } },
              },
            },
            os: { type: 'object', additionalProperties: true },
            packages: {
              type: 'array',
              maxItems: 200000,
              items: {
                type: 'object',
                required: ['name', 'version', 'type', 'purl'],
                additionalProperties: true,
                properties: {
                  name: { type: 'string' },
                  version: { type: 'string' },
                  type: { type: 'string' },
                  purl: { type: 'string' },
                },
              },
            },
            context: {
              type: 'object',
              additionalProperties: false,
              properties: {
                repository: { type: 'string', maxLength: 500 },
                commit: { type: 'string', maxLength: 200 },
                pipelineUrl: { type: 'string', maxLength: 2000 },
                environment: { type: 'string', maxLength: 100 },
              },
            },
          },
        },
        response: {
          202: {
            type: 'object',
            required: ['digest', 'queued', 'url'],
            properties: { digest: { type: 'string' }, queued: { type: 'boolean' }, url: { type: 'string' } },
          },
          400: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      const out = await ingestReport(s, req.body);
      reply.code(202);
      return { ...out, url: `/api/v1/images/${out.digest}` };
    },
  );
}
