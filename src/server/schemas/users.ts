import { Type, type Static } from '@sinclair/typebox';
import { PERSON_ROLES } from '../../model/roles.js';
import { EnvList, Filled, Nullable, StringEnum } from './common.js';

/** A user who signs in with a password. */
export const UserInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    role: StringEnum(PERSON_ROLES),
    password: Type.String({ minLength: 12, maxLength: 1000 }),
    environments: Type.Optional(EnvList),
  },
  { additionalProperties: false },
);
export type UserInput = Static<typeof UserInput>;

/**
 * null and nothing else: `const`, not `type: 'null'`, since Ajv's coerceTypes turns "", 0 and false
 * into null wherever a type allows it, and here null means every environment.
 */
const OnlyNull = Type.Unsafe<null>({ const: null, description: 'every environment' });

/** A change of a user's role or environments (null: all environments). */
export const UserChange = Type.Object(
  {
    role: Type.Optional(StringEnum(PERSON_ROLES)),
    environments: Type.Optional(Type.Union([EnvList, OnlyNull])),
  },
  { additionalProperties: false },
);
export type UserChange = Static<typeof UserChange>;

export const UserCreated = Type.Object({ id: Type.Integer() });

export const UserRecord = Filled(
  Type.Object({
    id: Type.Optional(Type.Integer()),
    name: Type.Optional(Type.String()),
    role: Type.Optional(Type.String()),
    environments: Type.Optional(Nullable(Type.Array(Type.String()))),
    createdAt: Type.Optional(Type.String()),
  }),
);
export type UserRecord = Static<typeof UserRecord>;
