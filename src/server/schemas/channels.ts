import { Type, type Static } from '@sinclair/typebox';
import { EnvName, Filled, Nullable } from './common.js';

/**
 * An alert channel to add. The types are the channels monitor/channels has (passed in, so this
 * file stays free of the senders' code for the web build).
 */
export const channelInput = (types: readonly string[]) =>
  Type.Object(
    {
      type: Type.String({ enum: [...types] }),
      url: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048 })),
      to: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$', maxLength: 320 })),
      secret: Type.Optional(
        Type.String({ minLength: 16, maxLength: 256, description: 'HMAC key of a webhook channel' }),
      ),
      environments: Type.Optional(
        Type.Array(EnvName, { description: 'the environments it serves (default: all)' }),
      ),
    },
    { additionalProperties: false },
  );
export type ChannelInput = Static<ReturnType<typeof channelInput>>;

export const ChannelRecord = Filled(
  Type.Object({
    id: Type.Optional(Type.Integer()),
    type: Type.Optional(Type.String()),
    target: Type.Optional(Type.String()),
    signed: Type.Optional(Type.Boolean()),
    environments: Type.Optional(Nullable(Type.Array(Type.String()))),
    createdAt: Type.Optional(Type.String()),
  }),
);
export type ChannelRecord = Static<typeof ChannelRecord>;
