import { errorCodes, type FastifyInstance } from 'fastify';
import type { Db } from '../../store/db.js';
import { registrySecrets } from '../../store/registries.js';
import type { SecretBox } from '../../store/secret-box.js';
import { principalOf } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { ingestPushes, ingestReport, type ReportStorer, type Services } from '../../services/ingest.js';
import { MAX_REPORT_BYTES, reportSchema } from '../../services/report.js';
import { actorOf } from '../../gate/settings.js';
import { provenance } from '../schemas.js';
import { receivers } from '../webhooks/index.js';
import { MalformedEvent, type PushEvent } from '../webhooks/types.js';
import { DomainError } from '../../services/errors.js';

export function ingestRoutes(
  app: FastifyInstance,
  s: Services & { box: SecretBox; metrics: Metrics; db: Db; reports?: ReportStorer },
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

  // The body is taken as bytes and parsed off the event loop (a 200k-package report is seconds of
  // JSON parsing and validation); the schema is still the route's, for the OpenAPI document, and
  // the one parseReport validates against.
  app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    // Not `parseAs: 'buffer'`: joining a 24 MB body and copying it for the thread held the event
    // loop for 100+ ms in one go (admission probes waited behind it). Each chunk is copied into a
    // buffer of its own as it arrives, and the chunks are handed over, joined in the report thread.
    scope.addContentTypeParser('application/json', { bodyLimit: MAX_REPORT_BYTES }, (req, payload, done) => {
      const declared = Number(req.headers['content-length']);
      if (declared > MAX_REPORT_BYTES) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
      const chunks: Uint8Array[] = [];
      let size = 0;
      let failed = false;
      payload.on('data', (c: Buffer) => {
        if (failed) return;
        size += c.length;
        if (size > MAX_REPORT_BYTES) {
          failed = true;
          payload.resume();
          return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
        }
        const own = new Uint8Array(c.length);
        own.set(c);
        chunks.push(own);
      });
      payload.on('end', () => {
        if (failed) return;
        if (Number.isFinite(declared) && declared !== size) {
          failed = true;
          return done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), undefined);
        }
        done(null, chunks);
      });
      payload.on('error', (err) => {
        if (failed) return;
        failed = true;
        done(err, undefined);
      });
    });
    scope.post<{ Body: Uint8Array[] }>(
      '/api/v1/reports',
      {
        config: { permission: 'report' },
        bodyLimit: MAX_REPORT_BYTES,
        validatorCompiler: () => () => true,
        schema: {
          summary:
            'A CI scan uploads its inventory; the server re-matches it with its own database and, where the image lives in a configured registry, scans it itself',
          tags: ['ingest'],
          body: reportSchema,
          response: {
            202: {
              type: 'object',
              required: ['digest', 'queued', 'url', 'provenance'],
              properties: {
                digest: { type: 'string' },
                queued: { type: 'boolean' },
                serverScanQueued: {
                  type: 'boolean',
                  description: 'the image lives in a configured registry: the server scans it itself',
                },
                provenance,
                url: { type: 'string' },
              },
            },
            400: errorSchema,
            ...authErrors,
          },
        },
      },
      async (req, reply) => {
        if (!Array.isArray(req.body))
          throw new DomainError('invalid', 'a report is a JSON document (application/json)');
        const out = await ingestReport(s, req.body, actorOf(req.principal), s.reports);
        reply.code(202);
        return { ...out, url: `/api/v1/images/${out.digest}` };
      },
    );
  });
}
