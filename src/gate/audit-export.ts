import { channelExists, queueOnce } from '../store/alerts.js';
import { auditHeadRow } from '../store/audit.js';
import { now, type Db } from '../store/db.js';
import { verifyAudit } from './audit.js';

/**
 * The audit log's signed head, sent to an alert channel on a schedule (`--audit-export-channel`):
 * a copy outside the database, so that a store rewritten or rolled back to an older copy — which
 * the database alone cannot reveal — no longer reaches a head sent earlier. Each head is sent once
 * (keyed by its entry number); the message carries the verification verdict at that moment.
 */
export async function exportAuditHead(
  db: Db,
  channelId: number,
): Promise<'queued' | 'unchanged' | 'no-channel'> {
  if (!(await channelExists(db, channelId))) return 'no-channel';
  const head = await auditHeadRow(db);
  const v = await verifyAudit(db);
  const seq = head ? Number(head.seq) : v.entries;
  const summary = [
    `customs audit log head: entry ${seq}, hash ${head?.hash ?? v.head}`,
    head ? `signed by key ${head.key_id}: ${head.sig}` : 'not signed',
    v.ok
      ? `verified: ${v.entries} entries intact`
      : `verification FAILED at entry ${v.broken!.seq}: ${v.broken!.reason}`,
  ].join('; ');
  const queued = await queueOnce(db, {
    key: `${channelId}|audit-head|${seq}|${v.ok ? 'ok' : 'broken'}`,
    channel_id: channelId,
    environment: '',
    image: 'audit-log',
    db_version: '',
    findings: '[]',
    kind: 'audit-head',
    summary,
    state: 'pending',
    attempts: 0,
    run_after: now(),
    created_at: now(),
  });
  return queued ? 'queued' : 'unchanged';
}
