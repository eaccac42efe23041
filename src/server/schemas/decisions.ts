import { Type, type Static } from '@sinclair/typebox';
import { OpenObject, EnvName, Filled, Nullable, Provenance, ScanBrief, StringEnum } from './common.js';
import { ApprovalRecord } from './approvals.js';

export const DECISION_STATUSES = [
  'approved',
  'auto-approved',
  'pending',
  'rejected',
  'suspended',
  'policy-failed',
  'untrusted',
  'not-scanned',
  'not-verified',
] as const;

/** Whether an image may run in an environment now, and why (what admission answers). */
export const DecisionRecord = Type.Object({
  digest: Type.Optional(Type.String()),
  environment: Type.Optional(Type.String()),
  allowed: Type.Optional(Type.Boolean()),
  status: Type.Optional(StringEnum(DECISION_STATUSES)),
  reasons: Type.Optional(Type.Array(Type.String())),
  policy: Type.Optional(
    Nullable(
      Type.Object({
        passed: Type.Optional(Type.Boolean()),
        failures: Type.Optional(Type.Array(Type.String())),
        waivedRules: Type.Optional(Type.Array(Type.String())),
      }),
    ),
  ),
  approval: Type.Optional(Type.Union([ApprovalRecord, Type.Null()])),
  trust: Type.Optional(
    Nullable(
      Type.Object({
        required: Type.Optional(Type.Boolean()),
        trusted: Type.Optional(Type.Boolean()),
        checked: Type.Optional(Type.Boolean()),
        reason: Type.Optional(Type.String()),
      }),
    ),
  ),
  scan: Type.Optional(ScanBrief),
  provenance: Type.Optional(Nullable(Provenance)),
  suppressed: Type.Optional(Type.Integer()),
  evaluatedAt: Type.Optional(Type.String()),
});
/** A decision as the server answers it: every field filled. */
export const DecisionAnswer = Filled(DecisionRecord);
export type DecisionAnswer = Static<typeof DecisionAnswer>;

/** The environment a decision or a trust check is for. */
export const EnvironmentQuery = Type.Object({ environment: EnvName }, { additionalProperties: false });

/** A trust check's answer: the signatures found and what they proved. */
export const VerifyAnswer = Type.Object({
  trusted: Type.Optional(Type.Boolean()),
  reason: Type.Optional(Type.String()),
  signatures: Type.Optional(Type.Array(OpenObject)),
});
