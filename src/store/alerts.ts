import type { Finding } from '../model/scan.js';
import { now, type Db } from './db.js';
import { isNewest } from './deployments.js';
import type { SecretBox } from './secret-box.js';
import type { Insertable } from 'kysely';
import type { Tables } from './schema.js';
import { allActiveExceptions, type ExceptionRecord } from './exceptions.js';

/** Alert channels, rules per environment, and the deliveries themselves. */

export type ChannelType = 'webhook' | 'slack' | 'teams' | 'email';

export interface ChannelInput {
  type: ChannelType;
  target: string;
  secret?: string;
  environments?: string[];
}

export interface AlertRules {
  critical?: boolean;
  kev?: boolean;
  /** Alert when a new finding's EPSS score is at least this (0–1). */
  epss?: number;
}

// A type, not an interface: the alerts answer passes these as open objects (Record<string, unknown>).
export type AlertFinding = {
  id: string;
  package: string;
  version: string;
  severity: string;
  kev: boolean;
  epss?: number;
  fixedVersion?: string;
  title?: string;
};

export async function addChannel(db: Db, box: SecretBox, c: ChannelInput): Promise<number> {
  const r = await db.k
    .insertInto('channels')
    .values({
      type: c.type,
      target: c.target,
      secret: c.secret ? box.seal(c.secret) : null,
      environments: c.environments ? JSON.stringify(c.environments) : null,
      created_at: now(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function listChannels(db: Db) {
  return (await db.k.selectFrom('channels').selectAll().orderBy('id').execute()).map((c) => ({
    id: c.id,
    type: c.type as ChannelType,
    // A webhook URL can carry a token (Slack's, Teams'): only its origin is shown.
    target: c.type === 'email' ? c.target : new URL(c.target).origin + '/…',
    signed: !!c.secret,
    environments: c.environments ? (JSON.parse(c.environments) as string[]) : null,
    createdAt: c.created_at,
  }));
}

export async function alertRulesOf(db: Db, environment: string): Promise<AlertRules | null> {
  const r = await db.k
    .selectFrom('environments')
    .select('alert_rules')
    .where('name', '=', environment)
    .executeTakeFirst();
  return r?.alert_rules ? (JSON.parse(r.alert_rules) as AlertRules) : null;
}

export async function setAlertRules(db: Db, environment: string, rules: AlertRules | null): Promise<void> {
  await db.k
    .updateTable('environments')
    .set({ alert_rules: rules ? JSON.stringify(rules) : null })
    .where('name', '=', environment)
    .execute();
}

export function matchesRules(f: Finding, rules: AlertRules): boolean {
  return (
    (!!rules.critical && f.severity.level === 'CRITICAL') ||
    (!!rules.kev && !!f.kev) ||
    (rules.epss !== undefined && (f.epss?.score ?? 0) >= rules.epss)
  );
}

/**
 * New findings of an image raise one alert per environment it runs in (and whose rules they meet)
 * and per channel serving that environment: many findings of one re-match travel together, and the
 * key (channel, environment, image, database version) makes a repeated re-match raise nothing.
 */
export async function queueAlerts(
  db: Db,
  digest: string,
  dbVersion: string,
  introduced: Finding[],
  batch?: AlertBatch,
): Promise<number> {
  if (!introduced.length) return 0;
  // Where this digest runs now: it is the newest deployment of its repository/namespace/service.
  const runs = batch
    ? (batch.runs.get(digest) ?? [])
    : await runsOf(db, [digest]).then((m) => m.get(digest) ?? []);
  if (!runs.length) return 0;
  const channels =
    batch?.channels ?? (await db.k.selectFrom('channels').select(['id', 'environments']).execute());
  let queued = 0;
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.environment)) continue;
    seen.add(r.environment);
    const rules = r.alert_rules ? (JSON.parse(r.alert_rules) as AlertRules) : undefined;
    if (!rules) continue;
    const hits = introduced.filter((f) => matchesRules(f, rules));
    if (!hits.length) continue;
    const findings: AlertFinding[] = hits.map((f) => ({
      id: f.id,
      package: f.package.name,
      version: f.package.version,
      severity: f.severity.level,
      kev: !!f.kev,
      epss: f.epss?.score,
      fixedVersion: f.fixedVersion,
      title: f.title,
    }));
    queued += await queueForChannels(
      db,
      channels,
      {
        key: `${r.environment}|${digest}|${dbVersion}`,
        environment: r.environment,
        image: `${r.registry}/${r.repository}@${digest}`,
        dbVersion,
        findings,
      },
      batch,
    );
  }
  return queued;
}

/** Where a digest runs now, and the alert rules of each environment. */
export type RunRow = {
  environment: string;
  registry: string;
  repository: string;
  namespace: string;
  alert_rules: string | null;
};

export async function runsOf(db: Db, digests: string[]): Promise<Map<string, RunRow[]>> {
  const out = new Map<string, RunRow[]>();
  for (let i = 0; i < digests.length; i += 500) {
    const rows = await db.k
      .selectFrom('deployments as d')
      .innerJoin('environments as e', 'e.name', 'd.environment')
      .select(['d.digest', 'd.environment', 'd.registry', 'd.repository', 'd.namespace', 'e.alert_rules'])
      .where('d.digest', 'in', digests.slice(i, i + 500))
      .where(isNewest)
      .execute();
    for (const { digest, ...r } of rows) out.set(digest, [...(out.get(digest) ?? []), r]);
  }
  return out;
}

/**
 * A fleet-wide re-match raises its alerts in one go: where the images run, the channels and the
 * exceptions in force are read once, and the alert rows are inserted together (`flushAlerts`).
 */
export interface AlertBatch {
  runs: Map<string, RunRow[]>;
  channels: Array<{ id: number; environments: string | null }>;
  exceptions: ExceptionRecord[];
  rows: Array<Insertable<Tables['alerts']>>;
}

export async function alertBatch(db: Db, digests: string[]): Promise<AlertBatch> {
  return {
    runs: await runsOf(db, digests),
    channels: await db.k.selectFrom('channels').select(['id', 'environments']).execute(),
    exceptions: await allActiveExceptions(db),
    rows: [],
  };
}

/** Insert a batch's alerts (those already queued are left as they are); how many were new. */
export async function flushAlerts(db: Db, batch: AlertBatch): Promise<number> {
  let n = 0;
  for (let i = 0; i < batch.rows.length; i += 200) {
    const r = await db.k
      .insertInto('alerts')
      .values(batch.rows.slice(i, i + 200))
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    n += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  batch.rows = [];
  return n;
}

/**
 * A notice that is not about new findings (an exception about to expire, a deployed image newly
 * failing its policy): one alert per channel serving the environment, keyed so it is sent once.
 */
export async function queueNotice(
  db: Db,
  n: {
    kind: string;
    key: string;
    environment: string;
    subject: string;
    summary: string;
    items: AlertFinding[];
  },
  batch?: AlertBatch,
): Promise<number> {
  const channels =
    batch?.channels ?? (await db.k.selectFrom('channels').select(['id', 'environments']).execute());
  return queueForChannels(
    db,
    channels,
    {
      key: `${n.kind}|${n.key}`,
      environment: n.environment,
      image: n.subject,
      dbVersion: '',
      findings: n.items,
      kind: n.kind,
      summary: n.summary,
    },
    batch,
  );
}

/**
 * One pending delivery per channel serving the environment, keyed by channel and `a.key`, so that
 * queueing the same alert again adds nothing. With a batch, the rows wait in it.
 */
async function queueForChannels(
  db: Db,
  channels: Array<{ id: number; environments: string | null }>,
  a: {
    key: string;
    environment: string;
    image: string;
    dbVersion: string;
    findings: AlertFinding[];
    kind?: string;
    summary?: string;
  },
  batch?: AlertBatch,
): Promise<number> {
  let queued = 0;
  for (const c of channels) {
    const envs = c.environments ? (JSON.parse(c.environments) as string[]) : undefined;
    if (envs && !envs.includes(a.environment)) continue;
    const row = {
      key: `${c.id}|${a.key}`,
      channel_id: c.id,
      environment: a.environment,
      image: a.image,
      db_version: a.dbVersion,
      findings: JSON.stringify(a.findings),
      // Explicit, not the column default: rows inserted together must name the same columns.
      kind: a.kind ?? 'findings',
      summary: a.kind ? (a.summary ?? null) : null,
      state: 'pending',
      attempts: 0,
      run_after: now(),
      created_at: now(),
    };
    if (batch) {
      batch.rows.push(row);
      queued++;
      continue;
    }
    const res = await db.k
      .insertInto('alerts')
      .values(row)
      .onConflict((oc) => oc.column('key').doNothing())
      .executeTakeFirst();
    queued += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return queued;
}

export async function listAlerts(db: Db, limit = 100) {
  return (await db.k.selectFrom('alerts').selectAll().orderBy('id', 'desc').limit(limit).execute()).map(
    (a) => ({
      id: a.id,
      channel: a.channel_id,
      // Written only by the alert rules (findings, exception expiry, policy, audit head, provenance).
      kind: a.kind as 'findings' | 'exception-expiry' | 'policy' | 'audit-head' | 'provenance',
      summary: a.summary,
      environment: a.environment,
      image: a.image,
      dbVersion: a.db_version,
      findings: JSON.parse(a.findings) as AlertFinding[],
      state: a.state as 'pending' | 'delivered' | 'failed',
      attempts: Number(a.attempts),
      lastError: a.last_error,
      createdAt: a.created_at,
      deliveredAt: a.delivered_at,
    }),
  );
}

/** Pending alerts due now with their channel, oldest first (the dispatcher's next round). */
export async function dueAlerts(db: Db) {
  return db.k
    .selectFrom('alerts')
    .innerJoin('channels', 'channels.id', 'alerts.channel_id')
    .select([
      'alerts.id',
      'alerts.channel_id',
      'alerts.environment',
      'alerts.image',
      'alerts.db_version',
      'alerts.findings',
      'alerts.kind',
      'alerts.summary',
      'alerts.attempts',
      'alerts.created_at',
      'channels.type',
      'channels.target',
      'channels.secret',
    ])
    .where('alerts.state', '=', 'pending')
    .where('alerts.run_after', '<=', now())
    .orderBy('alerts.id')
    .limit(500)
    .execute();
}

export async function markAlertsDelivered(db: Db, ids: number[], attempts: number): Promise<void> {
  await db.k
    .updateTable('alerts')
    .set({ state: 'delivered', attempts, delivered_at: now(), last_error: null })
    .where('id', 'in', ids)
    .execute();
}

/** A failed delivery: retried at `retryAt`, or `failed` for good after the last attempt. */
export async function markAlertsFailed(
  db: Db,
  ids: number[],
  f: { failed: boolean; attempts: number; error: string; retryAt: string },
): Promise<void> {
  await db.k
    .updateTable('alerts')
    .set({
      state: f.failed ? 'failed' : 'pending',
      attempts: f.attempts,
      last_error: f.error,
      run_after: f.retryAt,
    })
    .where('id', 'in', ids)
    .execute();
}

export async function channelExists(db: Db, id: number): Promise<boolean> {
  return !!(await db.k.selectFrom('channels').select('id').where('id', '=', id).executeTakeFirst());
}

/** Queue one alert row unless its key was queued before; whether it was new. */
export async function queueOnce(db: Db, row: Insertable<Tables['alerts']>): Promise<boolean> {
  const res = await db.k
    .insertInto('alerts')
    .values(row)
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}
