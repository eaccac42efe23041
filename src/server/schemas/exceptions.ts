import { Type, type Static } from '@sinclair/typebox';
import { Digest, EnvName, FilledExcept, Nullable, StringEnum } from './common.js';

export const EXCEPTION_STATES = ['pending', 'active', 'revoked', 'expired'] as const;

/** A waiver of a vulnerability (in a package) or a policy rule, with its reason, expiry and sign-off. */
export const ExceptionRecord = Type.Object({
  id: Type.Optional(Type.Integer()),
  vulnerability: Type.Optional(Type.String()),
  package: Type.Optional(Type.String()),
  rule: Type.Optional(Type.String()),
  repository: Type.Optional(Type.String()),
  digest: Type.Optional(Type.String()),
  environments: Type.Optional(Nullable(Type.Array(Type.String()))),
  reason: Type.Optional(Type.String()),
  expiresAt: Type.Optional(Type.String()),
  state: Type.Optional(StringEnum(EXCEPTION_STATES)),
  createdBy: Type.Optional(Type.String()),
  createdAt: Type.Optional(Type.String()),
  approvedBy: Type.Optional(Nullable(Type.String())),
  approvedAt: Type.Optional(Nullable(Type.String())),
  revokedBy: Type.Optional(Nullable(Type.String())),
  revokedAt: Type.Optional(Nullable(Type.String())),
  createdByName: Type.Optional(
    Type.String({ description: 'the person, as people read it ("alice (token cli)")' }),
  ),
  approvedByName: Type.Optional(Type.String()),
  revokedByName: Type.Optional(Type.String()),
});
/** As the server answers it: what it waives is what was given; the names where people acted. */
export const ExceptionAnswer = FilledExcept(ExceptionRecord, [
  'vulnerability',
  'package',
  'rule',
  'repository',
  'digest',
  'createdByName',
  'approvedByName',
  'revokedByName',
]);
export type ExceptionAnswer = Static<typeof ExceptionAnswer>;

export const ExceptionInput = Type.Object(
  {
    vulnerability: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    package: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    rule: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    repository: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: 'registry/repository' }),
    ),
    digest: Type.Optional(Digest),
    environments: Type.Optional(Type.Array(EnvName, { minItems: 1, maxItems: 50 })),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    expiresAt: Type.String({ maxLength: 40, description: 'ISO-8601 date or time' }),
  },
  { additionalProperties: false },
);
export type ExceptionInput = Static<typeof ExceptionInput>;

export const ExceptionQuery = Type.Object(
  {
    state: Type.Optional(StringEnum(EXCEPTION_STATES)),
    environment: Type.Optional(EnvName),
  },
  { additionalProperties: false },
);

export const ExportQuery = Type.Object(
  {
    format: StringEnum(['customsignore', 'openvex'] as const),
    environment: Type.Optional(EnvName),
  },
  { additionalProperties: false },
);

/** The exceptions in force as a file (YAML, or OpenVEX JSON). */
export const ExportAnswer = Type.Unsafe<string>({ description: 'YAML or OpenVEX JSON' });

export const RevokeInput = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);
