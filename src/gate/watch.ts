import type { Policy } from '../policy/policy.js';
import type { ScanResult } from '../model/scan.js';
import { queueNotice, type AlertBatch } from '../store/alerts.js';
import { isNewest } from '../store/deployments.js';
import { activeExceptions, exceptionsFor } from './exceptions.js';
import { judge } from './evaluate.js';
import type { Db } from '../store/db.js';
import { expiringExceptions, markExpiryAlerted, type ExceptionRecord } from './exceptions.js';
import { allGates } from './settings.js';

/** What an exception covers, in words. */
export function exceptionScope(e: ExceptionRecord): string {
  const what = e.vulnerability
    ? `${e.vulnerability}${e.package ? ` in ${e.package}` : ''}`
    : `policy rule ${e.rule}`;
  const where = e.digest
    ? e.repository
      ? `${e.repository}@${e.digest}`
      : e.digest
    : (e.repository ?? 'every image');
  return `${what} (${where})`;
}

/**
 * Alerts that an exception is about to expire, once per exception, on the channels of every
 * environment it covers. Runs on the server's schedule; `at` lets tests move the clock.
 */
export async function alertExpiringExceptions(db: Db, at = new Date()): Promise<number> {
  const soon = await expiringExceptions(db, at);
  if (!soon.length) return 0;
  const envs = [...(await allGates(db)).keys()];
  let queued = 0;
  for (const e of soon) {
    const days = Math.max(0, Math.ceil((Date.parse(e.expiresAt) - at.getTime()) / 86_400_000));
    for (const environment of e.environments ?? envs)
      queued += await queueNotice(db, {
        kind: 'exception-expiry',
        key: `exception:${e.id}:${environment}`,
        environment,
        subject: exceptionScope(e),
        summary: `Exception ${e.id} for ${exceptionScope(e)} expires ${e.expiresAt} (in ${days} day${days === 1 ? '' : 's'}) in ${environment}: ${e.reason}`,
        items: e.vulnerability
          ? [
              {
                id: e.vulnerability,
                package: e.package ?? '*',
                version: '',
                severity: 'exception',
                kev: false,
              },
            ]
          : [],
      });
    await markExpiryAlerted(db, e.id);
  }
  return queued;
}

/**
 * After a re-match: where the image runs now, does its environment's policy fail on something it
 * did not fail on before? One `policy` alert per image, environment and database version.
 */
export async function alertNewPolicyFailures(
  db: Db,
  policy: Policy,
  digest: string,
  dbVersion: string,
  before: ScanResult | undefined,
  after: ScanResult,
  batch?: AlertBatch,
): Promise<number> {
  const runs = batch
    ? (batch.runs.get(digest) ?? [])
    : await db.k
        .selectFrom('deployments as d')
        .select(['d.environment', 'd.registry', 'd.repository'])
        .where('d.digest', '=', digest)
        .where(isNewest)
        .execute();
  let queued = 0;
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.environment) || !policy.environments[r.environment]) continue;
    seen.add(r.environment);
    const repository = `${r.registry}/${r.repository}`;
    const exceptions = batch
      ? exceptionsFor(batch.exceptions, { repository, digest }, r.environment)
      : await activeExceptions(db, { repository, digest }, r.environment);
    // The stored previous result has no package list: both sides judge the same packages.
    const was = new Set(
      before
        ? judge(policy, r.environment, { ...before, packages: after.packages }, exceptions).failures
        : [],
    );
    const fresh = judge(policy, r.environment, after, exceptions).failures.filter((f) => !was.has(f));
    if (!fresh.length) continue;
    const image = `${repository}@${digest}`;
    queued += await queueNotice(
      db,
      {
        kind: 'policy',
        key: `policy:${digest}:${r.environment}:${dbVersion}`,
        environment: r.environment,
        subject: image,
        summary: `${image} running in ${r.environment} now fails its policy: ${fresh[0]}${fresh.length > 1 ? ` (and ${fresh.length - 1} more)` : ''}`,
        items: [],
      },
      batch,
    );
  }
  return queued;
}
