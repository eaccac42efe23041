import { Type, type Static } from '@sinclair/typebox';
import { EnvName, FilledExcept, Nullable, StringEnum } from './common.js';

export const APPROVAL_STATES = ['requested', 'approved', 'rejected', 'revoked'] as const;

/** An approval or a request for one: an image for an environment. */
export const ApprovalRecord = Type.Object({
  digest: Type.Optional(Type.String()),
  environment: Type.Optional(Type.String()),
  state: Type.Optional(StringEnum(APPROVAL_STATES)),
  requestedBy: Type.Optional(Nullable(Type.String())),
  requestReason: Type.Optional(Nullable(Type.String())),
  requestedAt: Type.Optional(Nullable(Type.String())),
  decidedBy: Type.Optional(Nullable(Type.String())),
  decisionReason: Type.Optional(Nullable(Type.String())),
  decidedAt: Type.Optional(Nullable(Type.String())),
  acceptedFailures: Type.Optional(Type.Array(Type.String())),
  requestedByName: Type.Optional(
    Type.String({ description: 'the person, as people read it ("alice (token cli)")' }),
  ),
  decidedByName: Type.Optional(Type.String({ description: 'the person, as people read it' })),
});

/** An approval as the server answers it: every field but the names of people who did not act. */
export const ApprovalAnswer = FilledExcept(ApprovalRecord, ['requestedByName', 'decidedByName']);
export type ApprovalAnswer = Static<typeof ApprovalAnswer>;

/** Ask for, grant, refuse or withdraw an approval. */
export const ApprovalInput = Type.Object(
  {
    image: Type.String({
      maxLength: 512,
      description: 'registry/repository@sha256:… (or a tag, resolved)',
    }),
    environment: EnvName,
    decision: StringEnum(['request', 'approve', 'reject', 'revoke'] as const),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);
export type ApprovalInput = Static<typeof ApprovalInput>;

export const ApprovalQuery = Type.Object(
  {
    environment: Type.Optional(EnvName),
    state: Type.Optional(StringEnum(APPROVAL_STATES)),
  },
  { additionalProperties: false },
);
