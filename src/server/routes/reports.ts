import { errorCodes, type FastifyInstance } from 'fastify';
import { actorOf } from '../../gate/settings.js';
import { ingestReport, type ReportStorer, type Services } from '../../services/ingest.js';
import { MAX_REPORT_BYTES, reportSchema } from '../../services/report.js';
import { DomainError } from '../../services/errors.js';
import { authErrors, errorSchema } from '../errors.js';
import { ReportAccepted } from '../schemas/reports.js';

/** CI uploads of an inventory: re-matched with the server's own database. */
export function reportRoutes(base: FastifyInstance, s: Services & { reports?: ReportStorer }): void {
  // The body is taken as bytes and parsed off the event loop (a 200k-package report is seconds of
  // JSON parsing and validation); the schema is still the route's, for the OpenAPI document, and
  // the one parseReport validates against.
  base.register(async (scope) => {
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
            202: ReportAccepted,
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
