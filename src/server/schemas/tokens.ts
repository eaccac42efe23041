import { Type, type Static } from '@sinclair/typebox';
import { PERMISSIONS, ROLES } from '../../model/roles.js';
import { EnvList, Filled, Nullable, StringEnum } from './common.js';

/** An API token to issue. */
export const TokenInput = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'what it is for (default: the name of who issues it)',
      }),
    ),
    role: StringEnum(ROLES),
    scopes: Type.Optional(Type.Array(StringEnum(PERMISSIONS))),
    expires: Type.Optional(Type.String({ pattern: '^\\d+[mhd]$', description: 'e.g. 30d, 12h' })),
    environments: Type.Optional(EnvList),
  },
  { additionalProperties: false },
);
export type TokenInput = Static<typeof TokenInput>;

/** A token just issued: the only answer that holds its secret. */
export const IssuedToken = Type.Object({ id: Type.Integer(), token: Type.String(), name: Type.String() });
export type IssuedToken = Static<typeof IssuedToken>;

/** A token as listed: never its secret. */
export const TokenRecord = Filled(
  Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    role: Type.String(),
    scopes: Type.Optional(Nullable(Type.Array(Type.String()))),
    userId: Type.Optional(Nullable(Type.Integer())),
    createdBy: Type.Optional(
      Nullable(Type.String(), { description: 'who issued it: approvals and the audit log name them' }),
    ),
    createdAt: Type.String(),
    expiresAt: Type.Optional(Nullable(Type.String())),
    revokedAt: Type.Optional(Nullable(Type.String())),
    lastUsedAt: Type.Optional(Nullable(Type.String())),
    environments: Type.Optional(Nullable(Type.Array(Type.String()))),
  }),
);
export type TokenRecord = Static<typeof TokenRecord>;
