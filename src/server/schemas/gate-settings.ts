import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './common.js';

/** Who may sign an image and where it may come from (checked against signatures and provenance). */
export const TrustRules = Type.Object(
  {
    keys: Type.Optional(Type.Array(Type.String({ maxLength: 10_000 }), { maxItems: 50 })),
    identities: Type.Optional(
      Type.Array(
        Type.Object(
          {
            subject: Type.String({ minLength: 1, maxLength: 500 }),
            issuer: Type.String({ minLength: 1, maxLength: 500 }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 50 },
      ),
    ),
    trustedRoot: Type.Optional(
      Type.String({ maxLength: 1_000_000, description: 'Sigstore trusted_root.json' }),
    ),
    builders: Type.Optional(Type.Array(Type.String({ maxLength: 500 }), { maxItems: 50 })),
    sources: Type.Optional(Type.Array(Type.String({ maxLength: 500 }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);

/**
 * An environment's gate settings. A change names only the fields it changes (the rest keep their
 * value), so none is required; the answer has them all (`GateSettings` below).
 */
export const GateRecord = Type.Object(
  {
    autoApprove: Type.Optional(Type.Boolean()),
    fourEyes: Type.Optional(Type.Boolean()),
    requireSignature: Type.Optional(Type.Boolean()),
    keepApprovalOnPolicyFailure: Type.Optional(Type.Boolean()),
    unknownImage: Type.Optional(StringEnum(['deny', 'allow'] as const)),
    requireDigest: Type.Optional(Type.Boolean({ description: 'admission denies images named by tag' })),
    namespaces: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' }), { maxItems: 200 }),
    ),
    exceptionSignoff: Type.Optional(Type.Boolean()),
    exceptionWarningDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 })),
    acceptReported: Type.Optional(
      Type.Boolean({
        description: 'a result from a CI report (not read by the server) may be approved or admitted here',
      }),
    ),
    trust: Type.Optional(TrustRules),
  },
  { additionalProperties: false },
);
export type GateChange = Static<typeof GateRecord>;

/** The settings as the server answers them: every field filled (trustedRoot only when set). */
export type GateSettings = Required<Omit<GateChange, 'trust'>> & {
  trust: Required<Omit<Static<typeof TrustRules>, 'trustedRoot'>> & { trustedRoot?: string };
};
export const GateAnswer = Type.Unsafe<GateSettings>(GateRecord);
