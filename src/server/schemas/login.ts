import { Type, type Static } from '@sinclair/typebox';
import { credentials } from '../schemas.js';

/** A user name and password (../schemas.ts `credentials`, which the dashboard's sign-in shares). */
export const Credentials = Type.Unsafe<{ username: string; password: string }>(credentials);

/** A signed-in user's token, valid for 12 hours. */
export const LoginAnswer = Type.Object({
  token: Type.String(),
  role: Type.String(),
  expiresAt: Type.String(),
});
export type LoginAnswer = Static<typeof LoginAnswer>;
