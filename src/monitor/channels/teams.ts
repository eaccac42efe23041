import { postJson, type Channel } from './channel.js';

/** A Microsoft Teams incoming webhook: a MessageCard with the title and one paragraph per line. */
export const teams: Channel = {
  type: 'teams',
  send: (target, secret, m, ctx) =>
    postJson(
      target,
      {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: m.title,
        title: m.title,
        text: m.lines.join('\n\n'),
      },
      secret,
      ctx,
    ),
};
