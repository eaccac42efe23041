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
  const channel = await db.k
    .selectFrom('channels')
    .select('id')
    .where('id', '=', channelId)
    .executeTakeFirst();
  if (!channel) return 'no-channel';
  const head = await db.k.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
  const v = await verifyAudit(db);
  const seq = head ? Number(head.seq) : v.entries;
  const summary = [
    `customs audit log head: entry ${seq}, hash ${head?.hash ?? v.head}`,
    head ? `signed by key ${head.key_id}: ${head.sig}` : 'not signed',
    v.ok
      ? `verified: ${v.entries} entries intact`
      : `verification FAILED at entry ${v.broken!.seq}: ${v.broken!.reason}`,
  ].join('; ');
  const res = await db.k
    .insertInto('alerts')
    .values({
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
    })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) ? 'queued' : 'unchanged';
}
