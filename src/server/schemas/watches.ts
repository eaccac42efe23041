import { Type, type Static } from '@sinclair/typebox';
import { Filled, Nullable } from './common.js';

/** A repository of a configured registry to poll for new tags. */
export const WatchInput = Type.Object(
  {
    registry: Type.String({ pattern: '^[a-zA-Z0-9.-]+(:\\d{1,5})?$' }),
    repository: Type.String({
      pattern: '^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$',
      maxLength: 255,
    }),
    intervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, default: 300 })),
  },
  { additionalProperties: false },
);
export type WatchInput = Static<typeof WatchInput>;

export const WatchRecord = Filled(
  Type.Object({
    id: Type.Integer(),
    registry: Type.String(),
    repository: Type.String(),
    intervalSeconds: Type.Integer(),
    lastPolled: Type.Optional(Nullable(Type.String())),
    lastError: Type.Optional(Nullable(Type.String())),
    createdAt: Type.Optional(Type.String()),
  }),
);
export type WatchRecord = Static<typeof WatchRecord>;
