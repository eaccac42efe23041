import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { AlertFinding } from '../store/alerts.js';
import { now, type Db } from '../store/db.js';
import type { SecretBox } from '../store/secret-box.js';
import { VERSION } from '../version.js';

export interface DispatcherOptions {
  db: Db;
  box: SecretBox;
  /** smtp://user:pass@host:port for email channels. */
  smtpUrl?: string;
  smtpFrom?: string;
  /** First retry delay; doubles each attempt (tests shorten it). */
  backoffMs?: number;
  maxAttempts?: number;
  log: (msg: string, fields?: object) => void;
}

interface Alert {
  kind: string;
  /** The headline of a notice (non-findings alert). */
  summary?: string | null;
  environment: string;
  image: string;
  dbVersion: string;
  findings: AlertFinding[];
}

/** One line per finding: "CVE-… (KEV) CRITICAL openssl 3.0.7, fixed in 3.0.8". */
function lines(a: Alert): string[] {
  return a.findings.map(
    (f) =>
      `${f.id}${f.kev ? ' (KEV)' : ''} ${f.severity} ${f.package} ${f.version}${f.fixedVersion ? `, fixed in ${f.fixedVersion}` : ', no fix yet'}${f.epss !== undefined ? `, EPSS ${(f.epss * 100).toFixed(1)}%` : ''}`,
  );
}

export function headline(a: Alert): string {
  if (a.summary) return a.summary;
  const first = a.findings[0];
  const what =
    a.findings.length === 1
      ? `${first.id}${first.kev ? ' (KEV)' : ''} now affects`
      : `${a.findings.length} new findings (${a.findings.filter((f) => f.kev).length} KEV) now affect`;
  return `${what} ${a.image} running in ${a.environment}`;
}

/**
 * Delivers queued alerts: a generic webhook (JSON, signed with HMAC-SHA256 in
 * `X-Customs-Signature: sha256=…`), Slack- and Teams-compatible incoming webhooks, and email over
 * SMTP. A failed delivery is retried with backoff, then recorded as failed with its error; other
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
      const due = await this.o.db.k
        .selectFrom('alerts')
        .innerJoin('channels', 'channels.id', 'alerts.channel_id')
        .select([
          'alerts.id',
          'alerts.environment',
          'alerts.image',
          'alerts.db_version',
          'alerts.findings',
          'alerts.kind',
          'alerts.summary',
          'alerts.attempts',
          'channels.type',
          'channels.target',
          'channels.secret',
        ])
        .where('alerts.state', '=', 'pending')
        .where('alerts.run_after', '<=', now())
        .orderBy('alerts.id')
        .limit(20)
        .execute();
      await Promise.all(due.map((a) => this.deliverOne(a)));
    } catch (err) {
      this.o.log('alert delivery failed', { reason: (err as Error).message });
    } finally {
      this.busy = false;
    }
  }

  private async deliverOne(row: {
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
  }): Promise<void> {
    const alert: Alert = {
      kind: row.kind,
      summary: row.summary,
      environment: row.environment,
      image: row.image,
      dbVersion: row.db_version,
      findings: JSON.parse(row.findings) as AlertFinding[],
    };
    const attempts = Number(row.attempts) + 1;
    try {
      await this.send(row.type, row.target, row.secret, alert);
      await this.o.db.k
        .updateTable('alerts')
        .set({ state: 'delivered', attempts, delivered_at: now(), last_error: null })
        .where('id', '=', row.id)
        .execute();
      this.o.log('alert delivered', { id: row.id, channel: row.type, environment: row.environment });
    } catch (err) {
      const max = this.o.maxAttempts ?? 4;
      const reason = (err as Error).message;
      const wait = (this.o.backoffMs ?? 2000) * 2 ** (attempts - 1);
      await this.o.db.k
        .updateTable('alerts')
        .set({
          state: attempts >= max ? 'failed' : 'pending',
          attempts,
          last_error: reason.slice(0, 500),
          run_after: new Date(Date.now() + wait).toISOString(),
        })
        .where('id', '=', row.id)
        .execute();
      this.o.log(attempts >= max ? 'alert failed' : 'alert delivery will be retried', {
        id: row.id,
        channel: row.type,
        attempts,
        reason,
      });
    }
  }

  private async send(type: string, target: string, secret: string | null, a: Alert): Promise<void> {
    const text = [headline(a), ...lines(a).map((l) => `• ${l}`)].join('\n');
    if (type === 'email') {
      if (!this.o.smtpUrl) throw new Error('no SMTP server configured (--smtp-url)');
      const transport = nodemailer.createTransport(this.o.smtpUrl);
      try {
        await transport.sendMail({
          from: this.o.smtpFrom ?? `customs@${new URL(this.o.smtpUrl).hostname}`,
          to: target,
          subject: `[customs] ${headline(a)}`,
          text: a.dbVersion ? `${text}\n\nDatabase version ${a.dbVersion}.\n` : `${text}\n`,
        });
      } finally {
        transport.close();
      }
      return;
    }
    const body =
      type === 'slack'
        ? { text }
        : type === 'teams'
          ? {
              '@type': 'MessageCard',
              '@context': 'https://schema.org/extensions',
              summary: headline(a),
              title: headline(a),
              text: lines(a).join('\n\n'),
            }
          : { type: 'customs.alert', version: 1, ...a, summary: headline(a) };
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': `customs/${VERSION}`,
    };
    if (secret)
      headers['x-customs-signature'] =
        `sha256=${createHmac('sha256', this.o.box.open<string>(secret)).update(payload).digest('hex')}`;
    const res = await fetch(target, {
      method: 'POST',
      headers,
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    }).catch((err: unknown) => {
      throw new Error(`${new URL(target).origin}: ${(err as Error).cause ?? (err as Error).message}`);
    });
    await res.body?.cancel();
    if (res.status < 200 || res.status >= 300)
      throw new Error(`${new URL(target).origin} answered HTTP ${res.status}`);
  }
}
