import { dueAlerts, markAlertsDelivered, markAlertsFailed, type AlertFinding } from '../store/alerts.js';
import type { Db } from '../store/db.js';
import type { SecretBox } from '../store/secret-box.js';
import { channelFor, headline, type Alert, type Message } from './channels/index.js';

export { headline };

export interface DispatcherOptions {
  db: Db;
  box: SecretBox;
  /** smtp://user:pass@host:port for email channels. */
  smtpUrl?: string;
  smtpFrom?: string;
  /** First retry delay; doubles each attempt (tests shorten it). */
  backoffMs?: number;
  maxAttempts?: number;
  /**
   * Findings alerts of one channel are held until no new one has come for this long (default
   * 2 s), never longer than `digestMaxHoldMs` (default 30 s), then sent together: a database
   * update that touches twenty images is one digest, not twenty messages.
   */
  digestQuietMs?: number;
  digestMaxHoldMs?: number;
  log: (msg: string, fields?: object) => void;
}

/** One line per finding: "CVE-… (KEV) CRITICAL openssl 3.0.7, fixed in 3.0.8". */
function lines(a: Alert): string[] {
  return a.findings.map(
    (f) =>
      `${f.id}${f.kev ? ' (KEV)' : ''} ${f.severity} ${f.package} ${f.version}${f.fixedVersion ? `, fixed in ${f.fixedVersion}` : ', no fix yet'}${f.epss !== undefined ? `, EPSS ${(f.epss * 100).toFixed(1)}%` : ''}`,
  );
}

/** The headline of a digest: one advisory across images, or many findings. */
export function digestHeadline(alerts: Alert[]): string {
  const envs = [...new Set(alerts.map((a) => a.environment))].join(', ');
  const ids = new Set(alerts.flatMap((a) => a.findings.map((f) => f.id)));
  const all = alerts.flatMap((a) => a.findings);
  if (ids.size === 1) {
    const f = all[0];
    return `${f.id}${f.kev ? ' (KEV)' : ''} now affects ${alerts.length} images running in ${envs}`;
  }
  return `${all.length} new findings (${all.filter((f) => f.kev).length} KEV) now affect ${alerts.length} images running in ${envs}`;
}

/**
 * Delivers queued alerts through their channel (channels/: a generic webhook, JSON signed with
 * HMAC-SHA256 in `X-Customs-Signature: sha256=…`; Slack- and Teams-compatible incoming webhooks;
 * email over SMTP). A failed delivery is retried with backoff, then recorded as failed with its error; other
 * channels are unaffected. Rows in the store make this work across processes (a worker queues,
 * the server delivers) and across restarts.
 */
export class AlertDispatcher {
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly o: DispatcherOptions) {}

  start(everyMs = 500): void {
    this.timer = setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const due = await dueAlerts(this.o.db);
      // Findings alerts go out per channel as one digest once the channel's alerts have settled;
      // notices (an expiring exception, a policy newly failing) one by one.
      const groups = new Map<number, typeof due>();
      const single: typeof due = [];
      for (const a of due) {
        if (a.kind !== 'findings') single.push(a);
        else groups.set(a.channel_id, [...(groups.get(a.channel_id) ?? []), a]);
      }
      const t = Date.now();
      const quiet = this.o.digestQuietMs ?? 2000;
      const maxHold = this.o.digestMaxHoldMs ?? 30_000;
      const sends: Array<Promise<void>> = single.slice(0, 20).map((a) => this.deliver([a]));
      for (const rows of groups.values()) {
        const ages = rows.map((r) => t - Date.parse(r.created_at));
        if (Math.min(...ages) < quiet && Math.max(...ages) < maxHold) continue; // more may come
        sends.push(this.deliver(rows));
      }
      await Promise.all(sends);
    } catch (err) {
      this.o.log('alert delivery failed', { reason: (err as Error).message });
    } finally {
      this.busy = false;
    }
  }

  /** One message for these alerts of one channel (a digest when there are several); each row records the outcome. */
  private async deliver(
    rows: Array<{
      id: number;
      environment: string;
      image: string;
      db_version: string;
      findings: string;
      kind: string;
      summary: string | null;
      attempts: number;
      type: string;
      target: string;
      secret: string | null;
    }>,
  ): Promise<void> {
    const alerts: Alert[] = rows.map((row) => ({
      kind: row.kind,
      summary: row.summary,
      environment: row.environment,
      image: row.image,
      dbVersion: row.db_version,
      findings: JSON.parse(row.findings) as AlertFinding[],
    }));
    const { type, target, secret } = rows[0];
    const attempts = Math.max(...rows.map((r) => Number(r.attempts))) + 1;
    const ids = rows.map((r) => r.id);
    const fields = { ids, channel: type, environments: [...new Set(rows.map((r) => r.environment))] };
    try {
      await this.send(type, target, secret, alerts);
      await markAlertsDelivered(this.o.db, ids, attempts);
      this.o.log(rows.length > 1 ? 'alert digest delivered' : 'alert delivered', fields);
    } catch (err) {
      const max = this.o.maxAttempts ?? 4;
      const reason = (err as Error).message;
      const wait = (this.o.backoffMs ?? 2000) * 2 ** (attempts - 1);
      await markAlertsFailed(this.o.db, ids, {
        failed: attempts >= max,
        attempts,
        error: reason.slice(0, 500),
        retryAt: new Date(Date.now() + wait).toISOString(),
      });
      this.o.log(attempts >= max ? 'alert failed' : 'alert delivery will be retried', {
        ...fields,
        attempts,
        reason,
      });
    }
  }

  private async send(type: string, target: string, secret: string | null, list: Alert[]): Promise<void> {
    const digest = list.length > 1;
    const title = digest ? digestHeadline(list) : headline(list[0]);
    const bodyLines = digest
      ? list.map((x) => `${x.image} (${x.environment}): ${lines(x).join('; ')}`)
      : lines(list[0]);
    const message: Message = {
      alerts: list,
      digest,
      title,
      lines: bodyLines,
      text: [title, ...bodyLines.map((l) => `• ${l}`)].join('\n'),
      versions: [...new Set(list.map((x) => x.dbVersion).filter(Boolean))],
    };
    await channelFor(type).send(target, secret, message, this.o);
  }
}
