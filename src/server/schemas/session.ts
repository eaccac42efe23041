import { Type, type Static } from '@sinclair/typebox';
import { Filled, Nullable } from './common.js';

export { Credentials } from './common.js';

/** Who is signed in, what they may do, and the CSRF token of a cookie session. */
export const SessionAnswer = Filled(
  Type.Object({
    name: Type.Optional(Type.String()),
    role: Type.Optional(Type.String()),
    permissions: Type.Optional(Type.Array(Type.String())),
    environments: Type.Optional(Nullable(Type.Array(Type.String()))),
    csrfToken: Type.Optional(Nullable(Type.String())),
    expiresAt: Type.Optional(Nullable(Type.String())),
  }),
);
export type SessionAnswer = Static<typeof SessionAnswer>;

/** How one signs in here. */
export const SignInMethods = Filled(
  Type.Object({ password: Type.Optional(Type.Boolean()), oidc: Type.Optional(Type.Boolean()) }),
);
export type SignInMethods = Static<typeof SignInMethods>;

/** What OIDC providers send back (others are let through: the library checks the response). */
export const OidcCallbackQuery = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  state: Type.Optional(Type.String({ maxLength: 1024 })),
  iss: Type.Optional(Type.String({ maxLength: 2048 })),
  session_state: Type.Optional(Type.String({ maxLength: 1024 })),
  error: Type.Optional(Type.String({ maxLength: 200 })),
  error_description: Type.Optional(Type.String({ maxLength: 2000 })),
});
