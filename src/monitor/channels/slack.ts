import { postJson, type Channel } from './channel.js';

/** A Slack-compatible incoming webhook: the text (its URL holds the token, so it is never listed whole). */
export const slack: Channel = {
  type: 'slack',
  send: (target, secret, m, ctx) => postJson(target, { text: m.text }, secret, ctx),
};
