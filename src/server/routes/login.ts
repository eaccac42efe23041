import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from '../../store/db.js';
import { errorSchema } from '../errors.js';
import { Credentials, LoginAnswer } from '../schemas/login.js';
import { openSession, passwordSignIn, signInLimiter } from '../sessions.js';

/** Sign-in for API clients: a user name and password give a bearer token (the dashboard has a cookie session). */
export function loginRoutes(base: FastifyInstance, deps: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  app.post(
    '/api/v1/auth/login',
    {
      onRequest: signInLimiter(base),
      schema: {
        summary: 'Sign in with a user name and password: a token valid for 12 hours',
        tags: ['auth'],
        security: [],
        body: Credentials,
        response: { 200: LoginAnswer, 400: errorSchema, 401: errorSchema, 429: errorSchema },
      },
    },
    async (req) => {
      const u = await passwordSignIn(db, req.body.username, req.body.password, req.ip);
      const { token, expiresAt } = await openSession(
        db,
        { id: u.id, name: req.body.username, role: u.role, environments: u.environments },
        { role: u.role },
      );
      return { token, role: u.role, expiresAt };
    },
  );
}
