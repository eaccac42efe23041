import { Type, type Static } from '@sinclair/typebox';

/** A webhook's answer: scan jobs queued. */
export const PushAccepted = Type.Object({
  queued: Type.Integer({ description: 'scan jobs queued (duplicates fold into one)' }),
});
export type PushAccepted = Static<typeof PushAccepted>;

/** A webhook's body: each receiver reads its own registry's event format. */
export const PushEventBody = Type.Unsafe<unknown>({ type: 'object', additionalProperties: true });
