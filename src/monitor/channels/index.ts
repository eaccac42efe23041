import type { Channel } from './channel.js';
import { email } from './email.js';
import { slack } from './slack.js';
import { teams } from './teams.js';
import { webhook } from './webhook.js';

export type { Alert, Channel, ChannelContext, Message } from './channel.js';
export { headline } from './channel.js';

/** The alert channels: a new one is a file beside these and a line here. */
export const CHANNELS: Channel[] = [webhook, slack, teams, email];

/** A channel by type; a type no channel knows is sent as the generic webhook (as it always was). */
export function channelFor(type: string): Channel {
  return CHANNELS.find((c) => c.type === type) ?? webhook;
}
