import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { getImage, listImages } from '../../store/images.js';
import type { Db } from '../../store/db.js';
import { authErrors, errorSchema } from '../errors.js';
import { DigestParam } from '../schemas/common.js';
import { ImageDetail, ImagePage, ImageQuery } from '../schemas/images.js';
import { DomainError } from '../../services/errors.js';

/** Images seen, and one image with its latest scan. */
export function imageRoutes(base: FastifyInstance, s: { db: Db }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/v1/images',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Images seen, newest first, each with its latest scan',
        tags: ['images'],
        querystring: ImageQuery,
        response: { 200: ImagePage, 400: errorSchema, ...authErrors },
      },
    },
    // The schema's default fills `limit`; the fallback only satisfies the type.
    async (req) => listImages(s.db, { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/images/:digest',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'One image by digest: where it was seen and its latest scan with findings',
        tags: ['images'],
        params: DigestParam,
        response: { 200: ImageDetail, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const img = await getImage(s.db, req.params.digest);
      if (!img) throw new DomainError('not_found', `no image ${req.params.digest}`);
      return {
        digest: req.params.digest,
        refs: img.refs,
        packages: img.packages,
        context: img.context,
        provenance: img.provenance,
        // A stored result always has its scan's provenance (both come from the one scan row).
        scan: img.result && img.scanProvenance ? { ...img.result, provenance: img.scanProvenance } : null,
      };
    },
  );
}
