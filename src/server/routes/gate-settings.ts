import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { trustedKey } from '../../gate/cosign.js';
import { actorOf, gateSettings, type GateSettings } from '../../gate/settings.js';
import { keylessVerifier } from '../../gate/sigstore.js';
import { setGate } from '../../services/environments.js';
import { DomainError, asInvalid } from '../../services/errors.js';
import { principalOfRequest as principal } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { EnvParam } from '../schemas/common.js';
import { GateAnswer, GateRecord } from '../schemas/gate-settings.js';
import type { GateDeps } from './deps.js';

/** An environment's gate settings: what it asks of an image before it may run there. */
export function gateSettingRoutes(base: FastifyInstance, s: GateDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.get(
    '/api/v1/environments/:name/gate',
    {
      config: { permission: 'read' },
      schema: {
        summary: "An environment's gate settings",
        tags: ['gate'],
        params: EnvParam,
        response: { 200: GateAnswer, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const g = await gateSettings(db, req.params.name);
      if (!g) throw new DomainError('not_found', `no environment ${req.params.name}`);
      return g;
    },
  );

  app.put(
    '/api/v1/environments/:name/gate',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "Change an environment's gate settings (fields not given keep their value); audited",
        tags: ['gate'],
        params: EnvParam,
        body: GateRecord,
        response: { 200: GateAnswer, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const g = await gateSettings(db, req.params.name);
      if (!g) throw new DomainError('not_found', `no environment ${req.params.name}`);
      const next: GateSettings = { ...g, ...req.body, trust: { ...g.trust, ...(req.body.trust ?? {}) } };
      await asInvalid(async () => {
        next.trust.keys.forEach((k, i) => trustedKey(k, `trust.keys[${i}]`));
        if (next.trust.trustedRoot)
          keylessVerifier(next.trust.trustedRoot, next.trust.identities, 'trust.trustedRoot');
      });
      await setGate({ db, actor: actorOf(principal(req)) }, req.params.name, g, next);
      s.admission.changed();
      s.attest();
      return next;
    },
  );
}
