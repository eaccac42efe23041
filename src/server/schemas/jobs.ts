import { Type, type Static } from '@sinclair/typebox';
import { AnyObject } from './common.js';

/** Queue depth and the dead-lettered jobs with their reasons. */
export const JobsState = Type.Object({
  queued: Type.Integer(),
  active: Type.Integer(),
  failed: Type.Integer(),
  deadLetters: Type.Array(
    Type.Object({
      key: Type.Optional(Type.String()),
      reason: Type.Optional(Type.String()),
      attempts: Type.Optional(Type.Integer()),
      job: Type.Optional(AnyObject),
    }),
  ),
});
export type JobsState = Static<typeof JobsState>;
