import { headline, postJson, type Channel } from './channel.js';

/** A generic webhook: the alert (or digest) as JSON, signed when the channel has a secret. */
export const webhook: Channel = {
  type: 'webhook',
  send: (target, secret, m, ctx) =>
    postJson(
      target,
      m.digest
        ? {
            type: 'customs.alert.digest',
            version: 1,
            summary: m.title,
            alerts: m.alerts.map((x) => ({ ...x, summary: headline(x) })),
          }
        : { type: 'customs.alert', version: 1, ...m.alerts[0], summary: m.title },
      secret,
      ctx,
    ),
};
