import { queueNotice } from '../store/alerts.js';
import type { Db } from '../store/db.js';
import { expiringExceptions, markExpiryAlerted, type ExceptionRecord } from './exceptions.js';
import { allGates } from './settings.js';

// Policy alerts after a re-match are part of recording a result (services/outcome.ts).
export { alertNewPolicyFailures } from '../services/outcome.js';

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
