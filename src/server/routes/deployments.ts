import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseReference } from '../../image/registry/reference.js';
import { DomainError } from '../../services/errors.js';
import type { Services } from '../../services/ingest.js';
import { currentDbVersion, requestScan } from '../../services/scans.js';
import { findEnvironment, recordDeployment } from '../../store/deployments.js';
import { recordImage } from '../../store/images.js';
import { principalOfRequest } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { DeploymentInput, DeploymentRecorded } from '../schemas/deployments.js';

/** Deployments reported by CD pipelines: what runs where (the cluster's own view is kube-inventory). */
export function deploymentRoutes(base: FastifyInstance, s: Services): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/api/v1/deployments',
    {
      config: { permission: 'report' },
      schema: {
        summary: 'Record that an image (by digest) now runs in an environment (from a CD pipeline)',
        tags: ['monitoring'],
        body: DeploymentInput,
        response: { 201: DeploymentRecorded, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      let ref;
      try {
        ref = parseReference(req.body.image);
      } catch (err) {
        throw new DomainError('invalid', (err as Error).message);
      }
      if (!ref.digest || !/^sha256:[a-f0-9]{64}$/.test(ref.digest))
        throw new DomainError('invalid', 'a deployment names its image by digest (…@sha256:…)');
      // A token limited to some environments records only there, as admission does (a staging CI
      // token must not say what runs in production: the overview, its verdicts and alerts read it).
      const p = principalOfRequest(req);
      if (p.environments && !p.environments.includes(req.body.environment))
        throw new DomainError(
          'forbidden',
          `this caller may record deployments only in ${p.environments.join(', ')}, not ${req.body.environment}`,
        );
      if (!(await findEnvironment(s.db, req.body.environment)))
        throw new DomainError('not_found', `no environment ${req.body.environment}; an admin adds it first`);
      await recordImage(s.db, { registry: ref.domain, repository: ref.repository, digest: ref.digest });
      const id = await recordDeployment(s.db, {
        environment: req.body.environment,
        registry: ref.domain,
        repository: ref.repository,
        digest: ref.digest,
        namespace: req.body.namespace,
        service: req.body.service,
        source: 'api',
      });
      // An image deployed but not scanned by the server is scanned now, when its registry is
      // configured (or re-matched, when the server has its inventory).
      const asked = await requestScan(
        s,
        { digest: ref.digest, registry: ref.domain, repository: ref.repository, source: 'deployment' },
        currentDbVersion(s.dbPath),
      );
      const scanQueued = asked.scan || asked.match;
      reply.code(201);
      return {
        id,
        image: `${ref.domain}/${ref.repository}@${ref.digest}`,
        environment: req.body.environment,
        scanQueued,
      };
    },
  );
}
