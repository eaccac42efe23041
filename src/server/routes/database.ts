import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { actorOf } from '../../gate/settings.js';
import type { DbUpdater } from '../../monitor/db-updater.js';
import { audit } from '../../services/audit.js';
import { DomainError } from '../../services/errors.js';
import type { Services } from '../../services/ingest.js';
import { currentDbVersion, dbVersion } from '../../services/scans.js';
import { dbVersions } from '../../store/db-versions.js';
import { signedExpiry } from '../../vulndb/freshness.js';
import { VulnStore } from '../../vulndb/store.js';
import { auditContext } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { DatabaseState, DatabaseUpdate, RescanInput, RescanQueued } from '../schemas/database.js';

/** The server's vulnerability database: its state, an update now, a re-match of every inventory. */
export function databaseRoutes(base: FastifyInstance, s: Services & { updater?: DbUpdater }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const who = (req: FastifyRequest) => auditContext(s.db, req);

  app.get(
    '/api/v1/db',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          "The server's vulnerability database: version, origin, sources, and the updates it installed",
        tags: ['monitoring'],
        response: { 200: DatabaseState, ...authErrors },
      },
    },
    async () => {
      let info: {
        version: string | null;
        origin: string | null;
        expires: string | null;
        expired: boolean;
        notice: string | null;
        sources: { name: string; records: number; updatedAt: string | null; status: string }[];
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
        response: { 200: DatabaseUpdate, 409: errorSchema, 502: errorSchema, ...authErrors },
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

  app.post(
    '/api/v1/rescans',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Re-match every stored inventory not yet matched against the current database',
        tags: ['monitoring'],
        body: RescanInput,
        response: { 202: RescanQueued, 400: errorSchema, 409: errorSchema, ...authErrors },
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
