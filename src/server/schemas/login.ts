import { Type, type Static } from '@sinclair/typebox';

/** A user name and password (common.ts, which the dashboard's sign-in shares). */
export { Credentials } from './common.js';

/** A signed-in user's token, valid for 12 hours. */
export const LoginAnswer = Type.Object({
  token: Type.String(),
  role: Type.String(),
  expiresAt: Type.String(),
});
export type LoginAnswer = Static<typeof LoginAnswer>;
