import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { baseLayerCount } from '../../advise/advise.js';
import { latestResult } from '../../gate/evaluate.js';
import { BASE_LIMITS, baseCandidates } from '../../services/base-candidates.js';
import { DomainError } from '../../services/errors.js';
import { principalOfRequest } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { BaseCandidatesAnswer } from '../schemas/base-candidates.js';
import { DigestParam } from '../schemas/common.js';
import type { ResourceDeps } from './deps.js';

/** Newer base images for an image, ranked by what they would remove. */
export function baseCandidateRoutes(base: FastifyInstance, s: ResourceDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/v1/images/:digest/base-candidates',
    {
      config: { permission: 'read' },
      schema: {
        summary: `Newer base images of the same distribution found in configured registries (repositories named after it, and the base the image's label names), ranked by the findings each would remove; tags not scanned yet are queued when the asker may request scans (report permission), else listed as unscanned. Bounded: ${BASE_LIMITS.repositories} repositories, ${BASE_LIMITS.tagsPerRepository} tags each, ${BASE_LIMITS.budgetMs / 1000} s; cached ${BASE_LIMITS.cacheMs / 60_000} minutes`,
        tags: ['images'],
        params: DigestParam,
        response: { 200: BaseCandidatesAnswer, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const latest = await latestResult(s.db, req.params.digest);
      if (!latest) throw new DomainError('not_found', `no scan of ${req.params.digest}`);
      // Queuing the unscanned tags is a scan request: only for those who may ask for scans.
      const queue = principalOfRequest(req).permissions.includes('report');
      return baseCandidates(s, req.params.digest, latest.result, baseLayerCount(latest.result), { queue });
    },
  );
}
