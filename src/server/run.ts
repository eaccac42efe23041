import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CustomsError } from '../errors.js';
import { PgQueue } from '../jobs/pg-queue.js';
import type { JobQueue } from '../jobs/queue.js';
import { requestAttestation } from '../services/attestations.js';
import { runJob } from '../jobs/scan-job.js';
import { SqliteQueue } from '../jobs/sqlite-queue.js';
import { defaultDataDir, openDb, redact, type Db } from '../store/db.js';
import { SecretBox } from '../store/secret-box.js';
import { nextAttestationExpiry } from '../store/attestations.js';
import { defaultDbPath } from '../vulndb/paths.js';
import { buildApp } from './app.js';
import { Metrics } from './metrics.js';
import { startPoller } from '../monitor/poller.js';
import { kubeAccess, startKubeInventory } from '../monitor/kube-inventory.js';
import { DbFollower } from './db-follower.js';
import { DbUpdater } from '../monitor/db-updater.js';
import { Offload } from './offload.js';
import { Rejudger } from './rejudge.js';
import { AlertDispatcher } from '../monitor/alerts.js';
import { backfillFindingIndex, backfillPackageIndex } from '../store/monitoring.js';
import { VulnStore } from '../vulndb/store.js';
import { resolvePolicy } from '../policy/policy.js';
import { Oidc, parseRoleMap } from './oidc.js';
import { alertExpiringExceptions } from '../gate/watch.js';
import { checkSecretKey } from '../store/cluster.js';
import { exclusively, PgLeadership, soleLeader, type Leadership, type SingletonTask } from './singletons.js';
import { loadSigner } from '../gate/server-key.js';
import { exportAuditHead } from '../gate/audit-export.js';
import { ensureSignedHead } from '../gate/audit.js';
import { GateEvents } from './gate-events.js';

/** Server settings: flags over environment over the config file over defaults. */
export interface ServerConfig {
  listen: string;
  data: string;
  database?: string;
  /** In-process scan workers (0: API only, scans left to `customs worker`). */
  workers: number;
  /** The vulnerability database. */
  db: string;
  /** Seconds a scan may take before it is killed. */
  deadline: number;
  /** PostgreSQL: seconds without a lease renewal before a job whose worker vanished runs elsewhere. */
  jobExpire: number;
  /** Heap cap of each scan process, MiB. */
  scanMemory: number;
  logLevel: string;
  /** Where the database comes from (comma-separated mirrors); unset: the CLI's own defaults. */
  dbRepository?: string;
  /** Seconds between database updates; 0 updates only on request. */
  dbUpdateInterval: number;
  /** More trusted public keys for the database, comma-separated files. */
  dbTrustKey?: string;
  /** The database repository may be plain HTTP (a mirror on loopback or inside the firewall). */
  dbInsecure?: string;
  /** smtp://user:password@host:port for email alerts, and their sender. */
  smtpUrl?: string;
  smtpFrom?: string;
  /** Milliseconds before an alert delivery is retried (doubling each time). */
  alertRetryMs: number;
  /** The policy file environments are judged by (default: ./customs-policy.yaml, else built in). */
  policy?: string;
  /** Answer admission requests without a token (decisions only; nothing recorded). */
  admissionAnonymous?: string;
  /** Seconds between checks for exceptions about to expire. */
  gateInterval: number;
  /** PEM files: serve HTTPS (what the Kubernetes API server needs to call the admission webhook). */
  tlsCert?: string;
  tlsKey?: string;
  /** OpenID Connect single sign-on (see server/oidc.ts). */
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecret?: string;
  oidcRedirectUri?: string;
  oidcRolesClaim?: string;
  oidcRoles?: string;
  oidcDefaultRole?: string;
  oidcInsecure?: string;
  /** What runs where, read from a cluster: a kubeconfig file (`file#context`) or `in-cluster`. */
  kubeInventory?: string;
  /** Seconds between cluster inventories. */
  kubeInterval: number;
  /** Seconds between tries to take over a singleton task another replica may have dropped. */
  leaderCheck: number;
  /** Seconds between looks for verdicts to judge again (a change of the gate marked them stale). */
  rejudgeInterval: number;
  /** SIGTERM: seconds readiness stays false before the listener closes (load balancers catch up). */
  shutdownDelay: number;
  /** SIGTERM: seconds requests in flight get to finish. */
  shutdownGrace: number;
  /** Scans kept per image after each database update (0: every scan). */
  retainScans: number;
  /** Behind a reverse proxy: trust its X-Forwarded-* headers. */
  trustProxy?: string;
  /** The URL users reach the server at (https://… makes the session cookie Secure). */
  publicUrl?: string;
  /** Send the audit log's signed head to this alert channel (id) every `auditExportInterval` s. */
  auditExportChannel?: string;
  auditExportInterval: number;
  /** Seconds a verdict the server signs (registries with `attest`) holds; re-signed at half that. */
  attestValidFor: number;
}

export type ServerFlags = Partial<Record<keyof ServerConfig | 'config', string>>;

const ENV: Record<keyof ServerConfig, string> = {
  listen: 'CUSTOMS_LISTEN',
  data: 'CUSTOMS_DATA',
  database: 'CUSTOMS_DATABASE',
  workers: 'CUSTOMS_WORKERS',
  db: 'CUSTOMS_DB',
  deadline: 'CUSTOMS_SCAN_DEADLINE',
  jobExpire: 'CUSTOMS_JOB_EXPIRE',
  scanMemory: 'CUSTOMS_SCAN_MEMORY',
  logLevel: 'CUSTOMS_LOG_LEVEL',
  dbRepository: 'CUSTOMS_DB_REPOSITORY',
  dbUpdateInterval: 'CUSTOMS_DB_UPDATE_INTERVAL',
  dbTrustKey: 'CUSTOMS_DB_TRUST_KEY',
  dbInsecure: 'CUSTOMS_DB_INSECURE',
  smtpUrl: 'CUSTOMS_SMTP_URL',
  smtpFrom: 'CUSTOMS_SMTP_FROM',
  alertRetryMs: 'CUSTOMS_ALERT_RETRY_MS',
  policy: 'CUSTOMS_POLICY',
  admissionAnonymous: 'CUSTOMS_ADMISSION_ANONYMOUS',
  gateInterval: 'CUSTOMS_GATE_INTERVAL',
  tlsCert: 'CUSTOMS_TLS_CERT',
  tlsKey: 'CUSTOMS_TLS_KEY',
  oidcIssuer: 'CUSTOMS_OIDC_ISSUER',
  oidcClientId: 'CUSTOMS_OIDC_CLIENT_ID',
  oidcClientSecret: 'CUSTOMS_OIDC_CLIENT_SECRET',
  oidcRedirectUri: 'CUSTOMS_OIDC_REDIRECT_URI',
  oidcRolesClaim: 'CUSTOMS_OIDC_ROLES_CLAIM',
  oidcRoles: 'CUSTOMS_OIDC_ROLES',
  oidcDefaultRole: 'CUSTOMS_OIDC_DEFAULT_ROLE',
  oidcInsecure: 'CUSTOMS_OIDC_INSECURE',
  kubeInventory: 'CUSTOMS_KUBE_INVENTORY',
  kubeInterval: 'CUSTOMS_KUBE_INTERVAL',
  leaderCheck: 'CUSTOMS_LEADER_CHECK',
  rejudgeInterval: 'CUSTOMS_REJUDGE_INTERVAL',
  shutdownDelay: 'CUSTOMS_SHUTDOWN_DELAY',
  shutdownGrace: 'CUSTOMS_SHUTDOWN_GRACE',
  retainScans: 'CUSTOMS_RETAIN_SCANS',
  trustProxy: 'CUSTOMS_TRUST_PROXY',
  publicUrl: 'CUSTOMS_PUBLIC_URL',
  auditExportChannel: 'CUSTOMS_AUDIT_EXPORT_CHANNEL',
  auditExportInterval: 'CUSTOMS_AUDIT_EXPORT_INTERVAL',
  attestValidFor: 'CUSTOMS_ATTEST_VALID_FOR',
};

export function serverConfig(flags: ServerFlags): ServerConfig {
  let file: Record<string, unknown> = {};
  const cfg = flags.config ?? process.env.CUSTOMS_CONFIG;
  if (cfg) {
    try {
      file = (parseYaml(readFileSync(cfg, 'utf8')) as Record<string, unknown>) ?? {};
    } catch (err) {
      throw new CustomsError(`cannot read the server configuration: ${(err as Error).message}`, cfg);
    }
  }
  const pick = (k: keyof ServerConfig): string | undefined => {
    const v = flags[k] ?? process.env[ENV[k]] ?? file[k];
    return v === undefined || v === null ? undefined : String(v);
  };
  const num = (k: keyof ServerConfig, def: number, min: number) => {
    const v = pick(k);
    const n = v === undefined ? def : Number(v);
    if (!Number.isFinite(n) || n < min) throw new CustomsError(`${k} must be a number ≥ ${min} (got ${v})`);
    return n;
  };
  const data = defaultDataDir(pick('data'));
  return {
    listen: pick('listen') ?? '127.0.0.1:8420',
    data,
    database: pick('database'),
    workers: num('workers', 1, 0),
    db: pick('db') ?? defaultDbPath(),
    deadline: num('deadline', 600, 1),
    jobExpire: num('jobExpire', 30, 2),
    scanMemory: num('scanMemory', 1536, 128),
    logLevel: pick('logLevel') ?? 'info',
    dbRepository: pick('dbRepository'),
    dbUpdateInterval: num('dbUpdateInterval', 3600, 0),
    dbTrustKey: pick('dbTrustKey'),
    dbInsecure: pick('dbInsecure'),
    smtpUrl: pick('smtpUrl'),
    smtpFrom: pick('smtpFrom'),
    alertRetryMs: num('alertRetryMs', 30_000, 10),
    policy: pick('policy'),
    admissionAnonymous: pick('admissionAnonymous'),
    gateInterval: num('gateInterval', 300, 1),
    tlsCert: pick('tlsCert'),
    tlsKey: pick('tlsKey'),
    oidcIssuer: pick('oidcIssuer'),
    oidcClientId: pick('oidcClientId'),
    oidcClientSecret: pick('oidcClientSecret'),
    oidcRedirectUri: pick('oidcRedirectUri'),
    oidcRolesClaim: pick('oidcRolesClaim'),
    oidcRoles: pick('oidcRoles'),
    oidcDefaultRole: pick('oidcDefaultRole'),
    oidcInsecure: pick('oidcInsecure'),
    kubeInventory: pick('kubeInventory'),
    kubeInterval: num('kubeInterval', 300, 1),
    leaderCheck: num('leaderCheck', 5, 1),
    rejudgeInterval: num('rejudgeInterval', 2, 0.1),
    shutdownDelay: num('shutdownDelay', 2, 0),
    shutdownGrace: num('shutdownGrace', 25, 1),
    retainScans: num('retainScans', 0, 0),
    trustProxy: pick('trustProxy'),
    publicUrl: publicUrlOf(pick('publicUrl')),
    auditExportChannel: pick('auditExportChannel'),
    auditExportInterval: num('auditExportInterval', 3600, 1),
    attestValidFor: num('attestValidFor', 86_400, 60),
  };
}

function publicUrlOf(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new CustomsError(`--public-url must be a URL such as https://customs.example.com (got ${v})`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new CustomsError(`--public-url must be http:// or https:// (got ${v})`);
  return u.origin;
}

function splitListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen) ?? /^()()(\d+)$/.exec(listen);
  if (!m) throw new CustomsError(`--listen takes HOST:PORT (got ${listen})`);
  return { host: m[1] || m[2] || '127.0.0.1', port: Number(m[3]) };
}

interface Runtime {
  db: Db;
  box: SecretBox;
  queue: JobQueue;
  metrics: Metrics;
}

async function open(c: ServerConfig, supervise: boolean): Promise<Runtime> {
  const db = await openDb({ database: c.database, data: c.data });
  const box = SecretBox.fromEnvOrFile(join(c.data, 'secret.key'));
  await checkSecretKey(db, box).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  // Every process that writes audit entries signs them (server, workers, store commands).
  db.signer = await loadSigner(db, box);
  await ensureSignedHead(db);
  const queue: JobQueue =
    db.engine === 'postgres'
      ? new PgQueue(db.url!, { leaseSeconds: c.jobExpire, runSeconds: c.deadline + 300, supervise })
      : new SqliteQueue(db, { leaseMs: (c.deadline + 60) * 1000 });
  // Scan processes cache layers under the data folder unless told otherwise.
  process.env.CUSTOMS_CACHE_DIR ??= join(c.data, 'cache', 'layers');
  return { db, box, queue, metrics: new Metrics(queue) };
}

function startWorkers(
  rt: Runtime,
  c: ServerConfig,
  n: number,
  log: (m: string, f?: object) => void,
  follower?: DbFollower,
  offload?: Offload,
): Promise<void> {
  const policy = resolvePolicy(c.policy).policy;
  return rt.queue.work(async (job) => {
    await follower?.ensure();
    // In the server, jobs run in worker threads: matching must not hold the API's event loop.
    if (offload) return offload.runJob(job);
    await runJob(job, {
      db: rt.db,
      box: rt.box,
      dbPath: c.db,
      deadlineMs: c.deadline * 1000,
      memoryMb: c.scanMemory,
      policy,
      log,
      onScan: rt.metrics.onScan,
      afterResult: (digest) => requestAttestation(rt, c.attestValidFor, log, { digest, source: 'scan' }),
    });
  }, n);
}

/** Stop on SIGTERM/SIGINT: no new requests or jobs, running jobs finish (or go back), then exit. */
function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const)
    process.on(sig, () => {
      if (stopping) process.exit(1);
      stopping = true;
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
}

function tlsFiles(c: ServerConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!c.tlsCert && !c.tlsKey) return undefined;
  if (!c.tlsCert || !c.tlsKey) throw new CustomsError('--tls-cert and --tls-key go together');
  const read = (f: string) => {
    try {
      return readFileSync(f);
    } catch (err) {
      throw new CustomsError(
        `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        f,
      );
    }
  };
  return { cert: read(c.tlsCert), key: read(c.tlsKey) };
}

function oidcOf(c: ServerConfig): Oidc | undefined {
  if (!c.oidcIssuer) return undefined;
  if (!c.oidcClientId) throw new CustomsError('--oidc-issuer needs --oidc-client-id');
  const base =
    c.publicUrl ?? `${c.tlsCert ? 'https' : 'http'}://${c.listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
  const defaultRole = c.oidcDefaultRole ?? 'viewer';
  if (!['viewer', 'developer', 'approver', 'admin', 'none'].includes(defaultRole))
    throw new CustomsError('--oidc-default-role is viewer, developer, approver, admin or none');
  return new Oidc({
    issuer: c.oidcIssuer,
    clientId: c.oidcClientId,
    clientSecret: c.oidcClientSecret,
    redirectUri: c.oidcRedirectUri ?? `${base}/api/v1/auth/oidc/callback`,
    rolesClaim: c.oidcRolesClaim ?? 'groups',
    roles: parseRoleMap(c.oidcRoles),
    defaultRole,
    insecure: yes(c.oidcInsecure),
  });
}

const yes = (v?: string) => ['1', 'true', 'yes'].includes((v ?? '').toLowerCase());

const list = (v?: string) =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export async function runServer(c: ServerConfig): Promise<void> {
  // A kubeconfig that cannot be used is a start-up error, not a log line an hour later.
  const kube = c.kubeInventory ? kubeAccess(c.kubeInventory) : undefined;
  const rt = await open(c, true);
  let log: (m: string, f?: object) => void = () => undefined;
  const offload = new Offload(
    {
      database: c.database,
      data: c.data,
      secretKeyFile: join(c.data, 'secret.key'),
      dbPath: c.db,
      policyFile: c.policy,
      deadlineMs: c.deadline * 1000,
      memoryMb: c.scanMemory,
    },
    c.workers,
    {
      log: (m, f) => log(m, f),
      onScan: rt.metrics.onScan,
      afterResult: (digest) => requestAttestation(rt, c.attestValidFor, log, { digest, source: 'scan' }),
    },
  );
  const updater = new DbUpdater({
    db: rt.db,
    queue: rt.queue,
    dbPath: c.db,
    repositories: list(c.dbRepository),
    trustKeys: list(c.dbTrustKey),
    insecure: yes(c.dbInsecure),
    intervalMs: c.dbUpdateInterval * 1000,
    policy: resolvePolicy(c.policy).policy,
    log: (m, f) => log(m, f),
    retainScans: c.retainScans,
    ...(rt.db.engine === 'postgres'
      ? { exclusive: <T>(fn: () => Promise<T>) => exclusively(rt.db.url!, 'db-apply', fn) }
      : {}),
    // The re-match is matching too: off the event loop that answers the API and admission. New
    // results can change verdicts: the attested images are re-signed (unchanged ones are not pushed).
    rematch: async (args) => {
      const r = await offload.rematch(args);
      requestAttestation(rt, c.attestValidFor, log, { source: 'db-update' });
      return r;
    },
  });
  const rejudger = new Rejudger({
    db: rt.db,
    pass: offload.rejudge,
    pollMs: c.rejudgeInterval * 1000,
    log: (m, f) => log(m, f),
  });
  const lifecycle: { draining: boolean; leadership?: Leadership } = { draining: false };
  // Replicas on one PostgreSQL tell each other when the gate changes (their decision caches).
  const gateEvents = new GateEvents(rt.db.engine === 'postgres' ? rt.db.url : undefined, (m, f) => log(m, f));
  await gateEvents.start();
  const app = await buildApp({
    gateEvents,
    ...rt,
    lifecycle,
    dbPath: c.db,
    logLevel: c.logLevel,
    updater,
    policy: resolvePolicy(c.policy).policy,
    admissionAnonymous: yes(c.admissionAnonymous),
    tls: tlsFiles(c),
    oidc: oidcOf(c),
    trustProxy: trustProxyOf(c.trustProxy),
    publicUrl: c.publicUrl,
    reports: offload.storeReport,
    attest: (digest?: string) => requestAttestation(rt, c.attestValidFor, log, { digest, source: 'gate' }),
    staleVerdictsShown: () => rejudger.wake(),
  });
  log = (m, f) => app.log.info(f ?? {}, m);
  const indexed = await backfillPackageIndex(rt.db);
  if (indexed) log('package index built for stored inventories', { inventories: indexed });
  const findings = await backfillFindingIndex(rt.db);
  if (findings) log('finding index built for stored scans', { images: findings });
  const { host, port } = splitListen(c.listen);
  await app.listen({ host, port });
  const where = c.database ? redact(c.database) : join(c.data, 'customs.sqlite');
  app.log.info(
    { store: where, workers: c.workers, vulndb: c.db, scheme: c.tlsCert ? 'https' : 'http' },
    'customs server ready',
  );
  if (c.workers > 0)
    await startWorkers(rt, c, c.workers, (m, f) => app.log.info(f ?? {}, m), undefined, offload);
  const dispatcher = new AlertDispatcher({
    db: rt.db,
    box: rt.box,
    smtpUrl: c.smtpUrl,
    smtpFrom: c.smtpFrom,
    backoffMs: c.alertRetryMs,
    log: (m, f) => log(m, f),
  });
  const logged = (m: string, f?: object) => app.log.info(f ?? {}, m);
  auditExportChannel(c); // a wrong channel id is a start-up error, not a log line an hour later
  // Periodic work of which the deployment runs one copy, however many replicas answer requests:
  // each starts on the replica that leads it and stops when that replica stops leading it.
  const tasks: SingletonTask[] = [
    {
      name: 'db-updater',
      start: () => {
        updater.start();
        // A server without a database fetches one when it starts leading (the update re-matches
        // what is stored).
        if (!VulnStore.exists(c.db) && c.dbUpdateInterval > 0)
          updater
            .run()
            .catch((err: unknown) => log('database update failed', { reason: (err as Error).message }));
        return () => updater.stop();
      },
    },
    {
      name: 'alerts',
      start: () => {
        dispatcher.start();
        return () => dispatcher.stop();
      },
    },
    {
      name: 'gate-watch',
      start: () => {
        const timer = setInterval(() => {
          alertExpiringExceptions(rt.db).catch((err: unknown) =>
            log('exception expiry check failed', { reason: (err as Error).message }),
          );
        }, c.gateInterval * 1000);
        timer.unref();
        return () => clearInterval(timer);
      },
    },
    {
      // Verdicts pushed beside images are re-signed when half their validity has passed, so a
      // cluster that trusts them never finds the newest one expired while the server runs; one
      // held short (an exception it rests on expires, the policy's judgement changes with time)
      // is re-signed as soon as it runs out, with the decision as it then stands.
      name: 'attest-refresh',
      start: () => {
        const every = Math.max(30, Math.min(3600, c.attestValidFor / 4)) * 1000;
        let timer: NodeJS.Timeout | undefined;
        let stopped = false;
        const schedule = async () => {
          let wait = every;
          try {
            const next = await nextAttestationExpiry(rt.db, new Date().toISOString());
            // A second after it runs out, so the sweep finds it due and the gate past the change.
            if (next) wait = Math.min(every, Math.max(1000, Date.parse(next) - Date.now() + 1000));
          } catch (err) {
            log('attestation expiry not read', { reason: (err as Error).message });
          }
          if (stopped) return;
          timer = setTimeout(() => {
            const dueBefore = new Date(Date.now() + (c.attestValidFor * 1000) / 2).toISOString();
            requestAttestation(rt, c.attestValidFor, log, { dueBefore, source: 'refresh' });
            void schedule();
          }, wait);
          timer.unref();
        };
        // At start, what is due now, signed with a key since rotated (customs server key create
        // --rotate) or in an older shape (an upgrade) is re-signed without waiting for a period.
        requestAttestation(rt, c.attestValidFor, log, {
          dueBefore: new Date(Date.now() + (c.attestValidFor * 1000) / 2).toISOString(),
          source: 'start',
        });
        void schedule();
        return () => {
          stopped = true;
          clearTimeout(timer);
        };
      },
    },
    {
      // Verdicts a change of the gate made stale, judged again in pages off the request path
      // (server/rejudge.ts); lists show them marked meanwhile, decisions judge their own.
      name: 'verdicts',
      start: () => rejudger.start(),
    },
    {
      name: 'poller',
      start: () => startPoller({ db: rt.db, box: rt.box, queue: rt.queue, dbPath: c.db }, logged),
    },
    ...(c.auditExportChannel
      ? [
          {
            name: 'audit-export' as const,
            start: () => {
              const t = auditExport(rt.db, c, log);
              return () => clearInterval(t);
            },
          },
        ]
      : []),
    ...(kube
      ? [
          {
            name: 'kube-inventory' as const,
            start: () =>
              startKubeInventory({ db: rt.db, queue: rt.queue, dbPath: c.db }, kube, c.kubeInterval, logged),
          },
        ]
      : []),
  ];
  let leadership: Leadership;
  if (rt.db.engine === 'postgres') {
    const pgl = new PgLeadership(rt.db.url!, tasks, logged, c.leaderCheck * 1000);
    await pgl.start();
    leadership = pgl;
  } else leadership = soleLeader(tasks, logged);
  rt.metrics.trackLeadership(leadership);
  // Replicas that do not run the updater keep their own database copy in step with the one the
  // leader installed (decisions and re-matches here are keyed by that version).
  const follower = followerOf(rt, c, logged);
  const followTimer = setInterval(() => {
    if (follower && !leadership.status()['db-updater'])
      follower
        .ensure()
        .catch((err: unknown) => log('database not in step yet', { reason: (err as Error).message }));
  }, c.leaderCheck * 1000);
  followTimer.unref();
  lifecycle.leadership = leadership;
  onSignals(async () => {
    // Readiness goes false first, so a load balancer stops sending before the listener closes;
    // requests in flight finish within the grace period (Fastify waits for them on close).
    lifecycle.draining = true;
    clearInterval(followTimer);
    logged('shutting down: readiness is false, finishing requests in flight', { grace: c.shutdownGrace });
    await leadership.release();
    await new Promise((r) => setTimeout(r, c.shutdownDelay * 1000));
    await Promise.race([app.close(), new Promise((r) => setTimeout(r, c.shutdownGrace * 1000))]);
    await rt.queue.stop(30_000);
    await offload.close();
    await gateEvents.close();
    await rt.db.close();
    logged('stopped');
  });
}

/** The audit head to a channel, at start and every interval (a head already sent is not sent again). */
function auditExportChannel(c: ServerConfig): number | undefined {
  if (!c.auditExportChannel) return undefined;
  const channel = Number(c.auditExportChannel);
  if (!Number.isInteger(channel) || channel < 1)
    throw new CustomsError(`--audit-export-channel takes a channel id (got ${c.auditExportChannel})`);
  return channel;
}

/** The audit head sent to a channel now and every interval (a singleton: one replica exports). */
function auditExport(db: Db, c: ServerConfig, log: (m: string, f?: object) => void): NodeJS.Timeout {
  const channel = auditExportChannel(c)!;
  const run = () =>
    exportAuditHead(db, channel).then(
      (r) => {
        if (r === 'no-channel') log('audit head not exported: no such channel', { channel });
      },
      (err: unknown) => log('audit head export failed', { reason: (err as Error).message }),
    );
  void run();
  const t = setInterval(() => void run(), c.auditExportInterval * 1000);
  t.unref();
  return t;
}

/** The database kept in step with the version the store says was installed (when its source is known). */
function followerOf(
  rt: Runtime,
  c: ServerConfig,
  log: (m: string, f?: object) => void,
): DbFollower | undefined {
  return c.dbRepository
    ? new DbFollower({
        db: rt.db,
        dbPath: c.db,
        repositories: list(c.dbRepository),
        trustKeys: list(c.dbTrustKey),
        insecure: yes(c.dbInsecure),
        log,
      })
    : undefined;
}

export async function runWorker(c: ServerConfig, concurrency: number): Promise<void> {
  if (!(c.database ?? '').startsWith('postgres'))
    throw new CustomsError(
      'customs worker shares a PostgreSQL store: give --database postgres://… (embedded SQLite mode runs its workers inside customs server)',
    );
  const rt = await open(c, true);
  const log = (m: string, f?: object) =>
    process.stdout.write(
      `${JSON.stringify({ level: 'info', time: Date.now(), pid: process.pid, msg: m, ...f })}\n`,
    );
  // A worker host follows the server's database when it knows where the database comes from.
  const follower = followerOf(rt, c, log);
  await follower
    ?.ensure()
    .catch((err: unknown) => log('database not in step yet', { reason: (err as Error).message }));
  await startWorkers(rt, c, concurrency, log, follower);
  log('customs worker ready', { concurrency, vulndb: c.db, follows: c.dbRepository ?? null });
  onSignals(async () => {
    await rt.queue.stop(30_000);
    await rt.db.close();
  });
}

/**
 * `--trust-proxy`: `true` (the bare flag) or a number is a hop count, anything else a list of proxy
 * addresses. Never "trust every hop": a proxy that appends to X-Forwarded-For would pass on
 * whatever address the client wrote first.
 */
export function trustProxyOf(v: string | boolean | undefined): number | string[] | undefined {
  if (v === undefined || v === false || v === '' || v === 'false' || v === '0') return undefined;
  if (v === true || v === 'true' || v === 'yes') return 1;
  if (/^\d+$/.test(v)) return Number(v);
  return v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}
