import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Admission } from '../../gate/admission.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import { principalOf } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { AdmissionReview } from '../schemas/admission.js';

/** The Kubernetes admission webhooks: validating, and mutating (tags pinned to the digest decided on). */
export function admissionRoutes(
  base: FastifyInstance,
  s: {
    db: Db;
    admission: Admission;
    /** Admission requests without a token are answered (but recorded as nothing). */
    admissionAnonymous: boolean;
  },
): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  /** The caller of an admission webhook: a token with `admission`, or anyone with --admission-anonymous. */
  async function admissionCaller(req: FastifyRequest): Promise<(environment: string) => boolean> {
    const p = await principalOf(s.db, req);
    if (!p && !s.admissionAnonymous)
      throw new DomainError(
        'unauthorized',
        'a token with the admission permission is required (Authorization: Bearer …)',
      );
    if (p && !p.permissions.includes('admission'))
      throw new DomainError(
        'forbidden',
        `a token of role ${p.role} may not ask for admission decisions` +
          // Registry tokens once answered admission too: say what replaces them.
          (p.role === 'webhook'
            ? '; the Kubernetes API server needs a token of role admission (customs server token create --role admission)'
            : ''),
      );
    // Anonymous callers get decisions, but may not write deployments or queue scans into the store;
    // a token limited to some environments writes only there.
    return (environment) => !!p && (!p.environments || p.environments.includes(environment));
  }

  app.post(
    '/admission/validate',
    {
      schema: {
        summary: 'Kubernetes ValidatingAdmissionWebhook (admission.k8s.io/v1 AdmissionReview in and out)',
        tags: ['gate'],
        security: [{ bearer: [] }],
        body: AdmissionReview,
        response: { 200: AdmissionReview, 400: errorSchema, ...authErrors },
      },
    },
    async (req) => s.admission.review(req.body, await admissionCaller(req)),
  );

  app.post(
    '/admission/mutate',
    {
      schema: {
        summary:
          'Kubernetes MutatingAdmissionWebhook: the same decision, and a JSON Patch pinning every image admitted by tag to the digest decided on',
        tags: ['gate'],
        security: [{ bearer: [] }],
        body: AdmissionReview,
        response: { 200: AdmissionReview, 400: errorSchema, ...authErrors },
      },
    },
    async (req) => s.admission.review(req.body, await admissionCaller(req), true),
  );
}
