import { signedExpiry } from '../../vulndb/freshness.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { currentDbVersion, dbVersion, requestScan } from '../../services/scans.js';
import { parseReference } from '../../image/registry/reference.js';
import {
  environments,
  findEnvironment,
  history,
  recordDeployment,
  running,
} from '../../store/deployments.js';
import { recordImage } from '../../store/images.js';
import { dbVersions } from '../../store/db-versions.js';
import { findingEvents } from '../../store/finding-events.js';
import { VulnStore } from '../../vulndb/store.js';
import { CHANNELS } from '../../monitor/channels/index.js';
import type { DbUpdater } from '../../monitor/db-updater.js';
import type { SecretBox } from '../../store/secret-box.js';
import { listAlerts, listChannels, type ChannelInput, type AlertRules } from '../../store/alerts.js';
import { authErrors, errorSchema } from '../errors.js';
import { envName, scanBrief } from '../schemas.js';
import { actorOf, defaultGate } from '../../gate/settings.js';
import { audit } from '../../services/audit.js';
import {
  addChannelAudited,
  putEnvironmentAudited,
  setAlertRulesAudited,
} from '../../services/environments.js';
import { auditContext } from '../auth.js';
import type { Services } from '../../services/ingest.js';
import { DomainError } from '../../services/errors.js';

const deployed = {
  type: 'object',
  properties: {
    image: { type: 'string' },
    registry: { type: 'string' },
    repository: { type: 'string' },
    digest: { type: 'string' },
    namespace: { type: ['string', 'null'] },
    service: { type: ['string', 'null'] },
    deployedAt: { type: 'string' },
    scan: scanBrief,
  },
} as const;
const dbUpdate = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['current', 'installed'] },
    version: { type: 'string' },
    origin: { type: 'string' },
    mode: { type: 'string' },
    bytes: { type: 'integer' },
    changedPackages: { type: ['integer', 'null'] },
    rescans: { type: 'integer' },
    changedImages: { type: 'integer' },
    queued: { type: 'integer' },
  },
} as const;

/** Environments, deployments, the database heartbeat and what each update changed. */
export function monitoringRoutes(
  app: FastifyInstance,
  s: Services & { updater?: DbUpdater; box: SecretBox; gateChanged?: () => void },
): void {
  alertRoutes(app, s);
  const who = (req: FastifyRequest) => auditContext(s.db, req);
  app.post<{ Body: { image: string; environment: string; namespace?: string; service?: string } }>(
    '/api/v1/deployments',
    {
      config: { permission: 'report' },
      schema: {
        summary: 'Record that an image (by digest) now runs in an environment (from a CD pipeline)',
        tags: ['monitoring'],
        body: {
          type: 'object',
          required: ['image', 'environment'],
          additionalProperties: false,
          properties: {
            image: { type: 'string', maxLength: 512, description: 'registry/repository@sha256:…' },
            environment: envName,
            namespace: { type: 'string', maxLength: 253 },
            service: { type: 'string', maxLength: 253 },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              id: { type: 'integer' },
              image: { type: 'string' },
              environment: { type: 'string' },
              scanQueued: { type: 'boolean' },
            },
          },
          400: errorSchema,
          404: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      let ref;
      try {
        ref = parseReference(req.body.image);
      } catch (err) {
        throw new DomainError('invalid', (err as Error).message);
      }
      if (!ref.digest || !/^sha256:[a-f0-9]{64}$/.test(ref.digest))
        throw new DomainError('invalid', 'a deployment names its image by digest (…@sha256:…)');
      if (!(await findEnvironment(s.db, req.body.environment)))
        throw new DomainError('not_found', `no environment ${req.body.environment}; an admin adds it first`);
      await recordImage(s.db, { registry: ref.domain, repository: ref.repository, digest: ref.digest });
      const id = await recordDeployment(s.db, {
        environment: req.body.environment,
        registry: ref.domain,
        repository: ref.repository,
        digest: ref.digest,
        namespace: req.body.namespace,
        service: req.body.service,
        source: 'api',
      });
      // An image deployed but not scanned by the server is scanned now, when its registry is
      // configured (or re-matched, when the server has its inventory).
      const asked = await requestScan(
        s,
        { digest: ref.digest, registry: ref.domain, repository: ref.repository, source: 'deployment' },
        currentDbVersion(s.dbPath),
      );
      const scanQueued = asked.scan || asked.match;
      reply.code(201);
      return {
        id,
        image: `${ref.domain}/${ref.repository}@${ref.digest}`,
        environment: req.body.environment,
        scanQueued,
      };
    },
  );

  app.get(
    '/api/v1/environments',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Environments, each with how many images run there and its worst grade',
        tags: ['monitoring'],
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                exposure: { type: 'string' },
                images: { type: 'integer' },
                worstGrade: { type: ['string', 'null'] },
                kev: { type: 'integer' },
                critical: { type: 'integer' },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => {
      const out = [];
      for (const e of await environments(s.db)) {
        const now = await running(s.db, e.name);
        const grades = now.map((r) => r.scan?.grade).filter((g): g is string => !!g);
        out.push({
          ...e,
          images: now.length,
          worstGrade: grades.length ? grades.sort().at(-1)! : null,
          kev: now.reduce((n, r) => n + (r.scan?.counts.kev ?? 0), 0),
          critical: now.reduce((n, r) => n + (r.scan?.counts.critical ?? 0), 0),
        });
      }
      // Production first: teams start there.
      return out.sort((a, b) => Number(b.name === 'production') - Number(a.name === 'production'));
    },
  );

  app.post<{ Body: { name: string; exposure: 'internet' | 'internal' } }>(
    '/api/v1/environments',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Add or change an environment',
        tags: ['monitoring'],
        body: {
          type: 'object',
          required: ['name', 'exposure'],
          additionalProperties: false,
          properties: { name: envName, exposure: { type: 'string', enum: ['internet', 'internal'] } },
        },
        response: {
          201: { type: 'object', properties: { name: { type: 'string' }, exposure: { type: 'string' } } },
          400: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      await putEnvironmentAudited(who(req), req.body, {
        signoff: defaultGate(req.body.name).exceptionSignoff,
      });
      s.gateChanged?.();
      reply.code(201);
      return req.body;
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/environments/:name',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'What runs in an environment now: images with their grade and counts',
        tags: ['monitoring'],
        params: { type: 'object', properties: { name: envName } },
        response: {
          200: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              exposure: { type: 'string' },
              images: { type: 'array', items: deployed },
            },
          },
          400: errorSchema,
          404: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const e = await findEnvironment(s.db, req.params.name);
      if (!e) throw new DomainError('not_found', `no environment ${req.params.name}`);
      const images = await running(s.db, e.name);
      // Worst first: KEV, then critical, then risk.
      images.sort(
        (a, b) =>
          (b.scan?.counts.kev ?? 0) - (a.scan?.counts.kev ?? 0) ||
          (b.scan?.counts.critical ?? 0) - (a.scan?.counts.critical ?? 0) ||
          (b.scan?.risk ?? 0) - (a.scan?.risk ?? 0),
      );
      return { ...e, images };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/environments/:name/history',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Every deployment in an environment, oldest first, with its grade and what it changed',
        tags: ['monitoring'],
        params: { type: 'object', properties: { name: envName } },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                deployedAt: { type: 'string' },
                endedAt: { type: ['string', 'null'], description: 'When the cluster stopped running it' },
                image: { type: 'string' },
                repository: { type: 'string' },
                digest: { type: 'string' },
                namespace: { type: ['string', 'null'] },
                service: { type: ['string', 'null'] },
                scan: scanBrief,
                change: {
                  type: ['object', 'null'],
                  properties: {
                    previous: { type: 'string' },
                    introduced: { type: ['integer', 'null'] },
                    fixed: { type: ['integer', 'null'] },
                    packages: {
                      type: 'object',
                      description:
                        'Packages added, removed and at another version than in the previous deployment',
                      properties: {
                        added: { type: 'integer' },
                        removed: { type: 'integer' },
                        changed: { type: 'integer' },
                      },
                    },
                    baseImageChanged: { type: 'boolean', description: 'Another OS release or base layer' },
                  },
                },
              },
            },
          },
          400: errorSchema,
          404: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      if (!(await findEnvironment(s.db, req.params.name)))
        throw new DomainError('not_found', `no environment ${req.params.name}`);
      return history(s.db, req.params.name);
    },
  );

  app.get<{ Params: { digest: string } }>(
    '/api/v1/images/:digest/changes',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Findings that appeared, went away or changed for an image, and the database version that did it',
        tags: ['images'],
        params: {
          type: 'object',
          properties: { digest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' } },
        },
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                kind: { type: 'string', enum: ['new', 'fixed', 'changed'] },
                vulnerability: { type: 'string' },
                package: { type: 'string' },
                severity: { type: 'string' },
                kev: { type: 'boolean' },
                dbVersion: { type: 'string' },
                at: { type: 'string' },
              },
            },
          },
          400: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => findingEvents(s.db, req.params.digest),
  );

  app.get(
    '/api/v1/db',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          "The server's vulnerability database: version, origin, sources, and the updates it installed",
        tags: ['monitoring'],
        response: {
          200: {
            type: 'object',
            properties: {
              version: { type: ['string', 'null'] },
              origin: { type: ['string', 'null'] },
              expires: { type: ['string', 'null'] },
              expired: { type: 'boolean' },
              notice: { type: ['string', 'null'] },
              sources: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    records: { type: 'integer' },
                    updatedAt: { type: ['string', 'null'] },
                    status: { type: 'string' },
                  },
                },
              },
              updates: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    version: { type: 'string' },
                    origin: { type: 'string' },
                    mode: { type: 'string' },
                    bytes: { type: 'integer' },
                    changedPackages: { type: 'integer' },
                    rescans: { type: 'integer' },
                    installedAt: { type: 'string' },
                  },
                },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => {
      let info: {
        version: string | null;
        origin: string | null;
        expires: string | null;
        expired: boolean;
        notice: string | null;
        sources: object[];
      } = { version: null, origin: null, expires: null, expired: false, notice: null, sources: [] };
      if (VulnStore.exists(s.dbPath)) {
        const store = VulnStore.openRead(s.dbPath);
        try {
          // A pulled database whose signature expired: its repository is frozen.
          const expiry = signedExpiry((k) => store.meta(k));
          info = {
            version: store.meta('built_at') ?? null,
            origin: store.meta('local.origin') ?? 'built here from feeds',
            expires: expiry.expires ?? null,
            expired: expiry.expired,
            notice: expiry.notice ?? null,
            sources: store.sources().map((x) => ({
              name: x.name,
              records: x.records,
              updatedAt: x.updatedAt ?? null,
              status: x.status,
            })),
          };
        } finally {
          store.close();
        }
      }
      return { ...info, updates: await dbVersions(s.db) };
    },
  );

  app.post(
    '/api/v1/db/update',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Update the vulnerability database now; re-match the inventories its change touches',
        tags: ['monitoring'],
        response: { 200: dbUpdate, 409: errorSchema, 502: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      if (!s.updater)
        throw new DomainError('conflict', 'this server does not update its database', 'not_configured');
      // {"allowDowngrade": true}: install an older signed version on purpose (audited).
      const allowDowngrade = (req.body as { allowDowngrade?: unknown } | undefined)?.allowDowngrade === true;
      const before = currentDbVersion(s.dbPath);
      const audited = (details: Record<string, unknown>) =>
        audit(who(req), 'db.update', 'vulnerability-database', {
          before,
          ...(allowDowngrade ? { allowDowngrade } : {}),
          ...details,
        });
      try {
        const r = await s.updater.run(
          allowDowngrade ? { allowDowngrade, actor: actorOf(req.principal) } : undefined,
        );
        await audited({ after: r.version, status: r.status, mode: r.mode ?? null });
        return r;
      } catch (err) {
        await audited({ error: (err as Error).message });
        throw new DomainError('upstream', (err as Error).message, 'update_failed');
      }
    },
  );

  app.post<{ Body: { all: boolean } }>(
    '/api/v1/rescans',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Re-match every stored inventory not yet matched against the current database',
        tags: ['monitoring'],
        body: {
          type: 'object',
          required: ['all'],
          additionalProperties: false,
          properties: { all: { type: 'boolean', const: true } },
        },
        response: {
          202: { type: 'object', properties: { queued: { type: 'integer' } } },
          400: errorSchema,
          409: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      if (!s.updater)
        throw new DomainError('conflict', 'no database updater in this server', 'not_configured');
      let version = 'none';
      try {
        version = dbVersion(s.dbPath);
      } catch {
        throw new DomainError('conflict', 'no vulnerability database yet', 'no_database');
      }
      const queued = await s.updater.rescanAll(version);
      await audit(who(req), 'db.rescan', 'vulnerability-database', { version, queued });
      reply.code(202);
      return { queued };
    },
  );
}

const channel = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    type: { type: 'string' },
    target: { type: 'string' },
    signed: { type: 'boolean' },
    environments: { type: ['array', 'null'], items: { type: 'string' } },
    createdAt: { type: 'string' },
  },
} as const;

/** Alert channels, per-environment rules, and the record of every delivery. */
function alertRoutes(app: FastifyInstance, s: Services & { box: SecretBox }): void {
  const who = (req: FastifyRequest) => auditContext(s.db, req);
  app.post<{ Body: ChannelInput & { url?: string; to?: string } }>(
    '/api/v1/channels',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Add an alert channel: a signed webhook, a Slack or Teams incoming webhook, or email',
        tags: ['alerts'],
        body: {
          type: 'object',
          required: ['type'],
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: CHANNELS.map((c) => c.type) },
            url: { type: 'string', pattern: '^https?://', maxLength: 2048 },
            to: { type: 'string', pattern: '^[^@\\s]+@[^@\\s]+$', maxLength: 320 },
            secret: {
              type: 'string',
              minLength: 16,
              maxLength: 256,
              description: 'HMAC key of a webhook channel',
            },
            environments: {
              type: 'array',
              items: envName,
              description: 'the environments it serves (default: all)',
            },
          },
        },
        response: { 201: channel, 400: errorSchema, ...authErrors },
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
        type: b.type,
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
        response: { 200: { type: 'array', items: channel }, ...authErrors },
      },
    },
    async () => listChannels(s.db),
  );

  app.put<{ Params: { name: string }; Body: AlertRules }>(
    '/api/v1/environments/:name/alert-rules',
    {
      config: { permission: 'admin' },
      schema: {
        summary:
          "Which new findings raise an alert in an environment (production's default: critical or KEV)",
        tags: ['alerts'],
        params: { type: 'object', properties: { name: envName } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            critical: { type: 'boolean' },
            kev: { type: 'boolean' },
            epss: { type: 'number', minimum: 0, maximum: 1 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { critical: { type: 'boolean' }, kev: { type: 'boolean' }, epss: { type: 'number' } },
          },
          400: errorSchema,
          404: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      if (!(await findEnvironment(s.db, req.params.name)))
        throw new DomainError('not_found', `no environment ${req.params.name}`);
      await setAlertRulesAudited(who(req), req.params.name, req.body);
      return req.body;
    },
  );

  app.get(
    '/api/v1/alerts',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Alert deliveries, newest first: what was sent where, and whether it landed',
        tags: ['alerts'],
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'integer' },
                channel: { type: 'integer' },
                kind: {
                  type: 'string',
                  enum: ['findings', 'exception-expiry', 'policy', 'audit-head', 'provenance'],
                },
                summary: { type: ['string', 'null'] },
                environment: { type: 'string' },
                image: { type: 'string' },
                dbVersion: { type: 'string' },
                findings: { type: 'array', items: { type: 'object', additionalProperties: true } },
                state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
                attempts: { type: 'integer' },
                lastError: { type: ['string', 'null'] },
                createdAt: { type: 'string' },
                deliveredAt: { type: ['string', 'null'] },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => listAlerts(s.db),
  );
}
