import { createHmac } from 'node:crypto';
import type { AlertFinding } from '../../store/alerts.js';
import type { SecretBox } from '../../store/secret-box.js';
import { VERSION } from '../../version.js';

/** One queued alert as a channel renders it. */
export interface Alert {
  kind: string;
  /** The headline of a notice (non-findings alert). */
  summary?: string | null;
  environment: string;
  image: string;
  dbVersion: string;
  findings: AlertFinding[];
}

/** What one delivery says: one alert, or a digest of several of one channel. */
export interface Message {
  alerts: Alert[];
  /** More than one alert: a digest. */
  digest: boolean;
  title: string;
  /** One line per finding (one per image in a digest). */
  lines: string[];
  /** The title and the lines as plain text. */
  text: string;
  /** The database versions the alerts are of. */
  versions: string[];
}

/** What a channel may need besides its target: the secret box, the SMTP server. */
export interface ChannelContext {
  box: SecretBox;
  smtpUrl?: string;
  smtpFrom?: string;
}

/**
 * An alert channel: one file per kind (webhook, slack, teams, email), listed in channels/index.ts.
 * `send` throws to have the delivery retried with backoff (the error is kept with the alert).
 */
export interface Channel {
  type: string;
  send(target: string, secret: string | null, m: Message, ctx: ChannelContext): Promise<void>;
}

/** POST a JSON body to a webhook URL, signed (HMAC-SHA256 in `X-Customs-Signature`) when a secret is set. */
export async function postJson(
  target: string,
  body: unknown,
  secret: string | null,
  ctx: ChannelContext,
): Promise<void> {
  const payload = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `customs/${VERSION}`,
  };
  if (secret)
    headers['x-customs-signature'] =
      `sha256=${createHmac('sha256', ctx.box.open<string>(secret)).update(payload).digest('hex')}`;
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

/** The headline of one alert: its notice, else what its findings now affect. */
export function headline(a: Alert): string {
  if (a.summary) return a.summary;
  const first = a.findings[0];
  const what =
    a.findings.length === 1
      ? `${first.id}${first.kev ? ' (KEV)' : ''} now affects`
      : `${a.findings.length} new findings (${a.findings.filter((f) => f.kev).length} KEV) now affect`;
  return `${what} ${a.image} running in ${a.environment}`;
}
