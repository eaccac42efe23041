import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { JobQueue } from '../jobs/queue.js';
import type { Db } from '../store/db.js';
import type { SecretBox } from '../store/secret-box.js';
import { VERSION } from '../version.js';
import { VulnStore } from '../vulndb/store.js';
import { requirePermission } from './auth.js';
import { authErrors, errorSchema, HttpError } from './errors.js';
import type { Metrics } from './metrics.js';
import { adminRoutes } from './routes/admin.js';
import { imageRoutes } from './routes/images.js';
import { ingestRoutes } from './routes/ingest.js';
import { monitoringRoutes } from './routes/monitoring.js';
import type { DbUpdater } from './db-updater.js';
import { gateRoutes } from './routes/gate.js';
import { dashboardRoutes } from './routes/dashboard.js';
import type { Oidc } from './oidc.js';
import { Admission } from '../gate/admission.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import { currentDbVersion, type ReportStorer } from './service.js';

export interface AppDeps {
  db: Db;
  box: SecretBox;
  queue: JobQueue;
  dbPath: string;
  metrics: Metrics;
  logLevel?: string;
  updater?: DbUpdater;
  /** The policy environments are judged by (the built-in one unless --policy). */
  policy?: Policy;
  /** Answer admission requests that carry no token (decisions only). */
  admissionAnonymous?: boolean;
  /** Single sign-on for the dashboard. */
  oidc?: Oidc;
  /** Serve HTTPS (PEM certificate chain and key): the Kubernetes API server calls webhooks over TLS only. */
  tls?: { cert: Buffer; key: Buffer };
  /** Where uploaded reports are parsed and stored (the server's worker thread; default: inline). */
  reports?: ReportStorer;
}

/** The HTTP side of `customs server`: routes validate and call services; the store does the rest. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
    logger: { level: deps.logLevel ?? 'info', redact: ['req.headers.authorization'] },
    bodyLimit: 1024 * 1024,
    // Query strings like ?kev=true become booleans; unknown query keys are refused, not dropped.
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true } },
  });

  // Raw bytes are kept for webhook signatures (HMAC over exactly what was sent).
  app.addContentTypeParser(
    ['application/json', 'application/vnd.docker.distribution.events.v1+json'],
    { parseAs: 'buffer' },
    (req, body, done) => {
      req.rawBody = body as Buffer;
      try {
        done(null, (body as Buffer).length ? JSON.parse((body as Buffer).toString('utf8')) : {});
      } catch {
        done(new HttpError(400, 'malformed_json', 'the request body is not valid JSON'));
      }
    },
  );

  app.setErrorHandler(
    (err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
      if (err instanceof HttpError)
        return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
      if (err.validation)
        return reply.code(400).send({ error: { code: 'invalid_request', message: err.message } });
      if (err.statusCode && err.statusCode < 500)
        return reply
          .code(err.statusCode)
          .send({ error: { code: (err.code ?? 'bad_request').toLowerCase(), message: err.message } });
      req.log.error({ err }, 'request failed');
      return reply
        .code(500)
        .send({ error: { code: 'internal', message: 'internal error (see the server log)' } });
    },
  );
  await app.register(cookie);
  const web = fileURLToPath(new URL('../../web/', import.meta.url));
  const dashboard = existsSync(join(web, 'index.html'));
  if (dashboard)
    // Files are registered one by one (no catch-all route), so unknown API paths stay JSON 404s.
    await app.register(fastifyStatic, { root: web, wildcard: false, index: ['index.html'], maxAge: '1h' });
  // The dashboard's pages may not be framed or load anything from elsewhere.
  app.addHook('onSend', async (req, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      );
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
    }
    return payload;
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    // A dashboard route (/images/sha256:…, /approvals…) loads the page, which routes itself.
    if (
      dashboard &&
      req.method === 'GET' &&
      !/^\/(api|webhooks|admission|metrics)(\/|$)/.test(path) &&
      /text\/html/.test(req.headers.accept ?? '')
    )
      return reply.type('text/html').sendFile('index.html');
    return reply.code(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${path}` } });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Customs API', version: VERSION, description: 'Container image scanning service' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token (cst_…)' } },
      },
      security: [{ bearer: [] }],
    },
  });
  app.addHook('onRequest', requirePermission(deps.db));

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        security: [],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the store answers and a vulnerability database is present',
        tags: ['operations'],
        security: [],
        response: {
          200: { type: 'object', properties: { status: { type: 'string' }, database: { type: 'string' } } },
          503: errorSchema,
        },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(deps.db.k);
      } catch (err) {
        throw new HttpError(503, 'store_unavailable', (err as Error).message);
      }
      if (!VulnStore.exists(deps.dbPath))
        throw new HttpError(503, 'no_vulnerability_database', `no database at ${deps.dbPath}`);
      return { status: 'ready', database: deps.db.engine };
    },
  );
  app.get(
    '/metrics',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Prometheus metrics',
        tags: ['operations'],
        response: { 200: { type: 'string' }, ...authErrors },
      },
    },
    async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  imageRoutes(app, deps);
  adminRoutes(app, deps);
  ingestRoutes(app, deps);
  monitoringRoutes(app, deps);
  const policy = deps.policy ?? DEFAULT_POLICY;
  const admission = new Admission({
    db: deps.db,
    box: deps.box,
    queue: deps.queue,
    policy,
    dbVersion: () => currentDbVersion(deps),
  });
  gateRoutes(app, { ...deps, policy, admission, admissionAnonymous: !!deps.admissionAnonymous });
  dashboardRoutes(app, { ...deps, policy, secure: !!deps.tls, admission });
  await app.ready();
  return app;
}
