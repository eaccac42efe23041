import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import type { JobQueue } from '../jobs/queue.js';
import { pingStore, type Db } from '../store/db.js';
import type { SecretBox } from '../store/secret-box.js';
import { VERSION } from '../version.js';
import { VulnStore } from '../vulndb/store.js';
import { requirePermission } from './auth.js';
import { authErrors, errorSchema } from './errors.js';
import type { Metrics } from './metrics.js';
import { resourceRoutes } from './routes/index.js';
import type { DbUpdater } from '../monitor/db-updater.js';
import type { Oidc } from './oidc.js';
import type { GateEvents } from './gate-events.js';
import { Admission } from '../gate/admission.js';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.js';
import { currentDbVersion, type ReportStorer } from '../services/ingest.js';
import type { Leadership } from './singletons.js';
import { parseJsonBody } from './json-body.js';
import { DomainError } from '../services/errors.js';
import { DEFAULT_ATTEST_VALID_FOR, requestAttestation } from '../services/attestations.js';

export interface AppDeps {
  db: Db;
  /** Gate changes from other replicas clear this one's decision caches (server/gate-events.ts). */
  gateEvents?: GateEvents;
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
  /** Set by the process: draining (SIGTERM received) and who leads the singleton tasks. */
  lifecycle?: { draining: boolean; leadership?: Leadership };
  /** Behind a reverse proxy: believe its X-Forwarded-For/-Proto (client address, scheme). */
  /** Hops or proxy addresses whose X-Forwarded-* count (server/run.ts trustProxyOf). */
  trustProxy?: number | string[];
  /** Where users reach the server (`https://…` behind a TLS-terminating proxy makes cookies Secure). */
  publicUrl?: string;
  /** Where uploaded reports are parsed and stored (the server's worker thread; default: inline). */
  reports?: ReportStorer;
  /** Queue the signing of an image's attestations (a sweep without a digest): after a gate change. */
  attest?: (digest?: string) => void;
  /** A list served verdicts marked stale: wake the pass that judges them again (server/rejudge.ts). */
  staleVerdictsShown?: () => void;
}

/** A request line for the log: every query value hidden (`?secret=…` of a Docker Hub webhook). */
export function loggedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const keys = url
    .slice(q + 1)
    .split('&')
    .map((p) => p.split('=')[0])
    .filter(Boolean);
  return `${url.slice(0, q)}?${keys.map((k) => `${k}=[redacted]`).join('&')}`;
}

/** The HTTP side of `customs server`: routes validate and call services; the store does the rest. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.tls ? { https: { cert: deps.tls.cert, key: deps.tls.key } } : {}),
    logger: {
      level: deps.logLevel ?? 'info',
      // Secrets never reach the log: query values are hidden, credentials in headers too.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]'],
      serializers: {
        req: (req: { method: string; url: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method,
          url: loggedUrl(req.url),
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
      },
    },
    // Only behind a proxy are X-Forwarded-* the client's: otherwise anyone could claim an address.
    trustProxy:
      typeof deps.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (deps.trustProxy as number)
        : (deps.trustProxy ?? false),
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
        done(null, parseJsonBody(body as Buffer));
      } catch (err) {
        done(err as Error);
      }
    },
  );

  app.setErrorHandler(
    (err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
      if (err instanceof DomainError)
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
  // Per-address throttling, on the routes that ask for it (sign-in: sessions.ts).
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new DomainError('too_many', `too many requests from this address; retry in ${ctx.after}`),
  });
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
    // Each operation names the permission it needs (`x-permission`), so clients and the tests can
    // tell admin routes from others without a list kept by hand.
    transform: ({ schema, url, route }) => {
      const permission = (route.config as { permission?: string } | undefined)?.permission;
      return { schema: permission && schema ? { ...schema, 'x-permission': permission } : schema, url };
    },
  });
  app.addHook('onRequest', requirePermission(deps.db));
  deps.metrics.trackDatabase(() => currentDbVersion(deps));
  app.addHook('onResponse', async (req, reply) => {
    const path = req.routeOptions.url ?? '';
    if (path.startsWith('/admission/'))
      deps.metrics.admissionSeconds.observe(
        { endpoint: path.slice('/admission/'.length), code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
  });

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
      if (deps.lifecycle?.draining)
        throw new DomainError('unavailable', 'this replica is shutting down', 'shutting_down');
      try {
        await pingStore(deps.db);
      } catch (err) {
        throw new DomainError('unavailable', (err as Error).message, 'store_unavailable');
      }
      if (!VulnStore.exists(deps.dbPath))
        throw new DomainError('unavailable', `no database at ${deps.dbPath}`, 'no_vulnerability_database');
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

  const policy = deps.policy ?? DEFAULT_POLICY;
  const admission = new Admission({
    db: deps.db,
    box: deps.box,
    queue: deps.queue,
    policy,
    dbVersion: () => currentDbVersion(deps),
    broadcast: deps.gateEvents ? () => deps.gateEvents!.publish() : undefined,
  });
  deps.gateEvents?.onChange(() => admission.invalidate());
  admission.verdicts.onStale = deps.staleVerdictsShown;
  const attest =
    deps.attest ??
    ((digest?: string) =>
      requestAttestation(deps, DEFAULT_ATTEST_VALID_FOR, (m, f) => app.log.info(f ?? {}, m), {
        digest,
        source: 'gate',
      }));
  const httpsUrl = /^https:/i.test(deps.publicUrl ?? '');
  resourceRoutes(app, {
    ...deps,
    policy,
    admission,
    admissionAnonymous: !!deps.admissionAnonymous,
    attest,
    // A new environment can put exceptions back to pending: decisions cached anywhere are stale.
    gateChanged: () => admission.changed(),
    // Secure cookies when served over TLS here or, behind a TLS-terminating proxy, per --public-url
    // or (only when the proxy is trusted) the scheme it forwards.
    secure: (req) => !!deps.tls || httpsUrl || (!!deps.trustProxy && req.protocol === 'https'),
  });
  await app.ready();
  return app;
}
