import type { FastifyInstance } from 'fastify';
import { getImage, listImages, type ImageFilter } from '../../store/images.js';
import { authErrors, errorSchema } from '../errors.js';
import { imageDetail, imageSummary } from '../schemas.js';
import type { Services } from '../../services/ingest.js';
import { DomainError } from '../../services/errors.js';

export function imageRoutes(app: FastifyInstance, s: Services): void {
  app.get<{ Querystring: ImageFilter }>(
    '/api/v1/images',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Images seen, newest first, each with its latest scan',
        tags: ['images'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            repository: { type: 'string' },
            tag: { type: 'string' },
            digest: { type: 'string' },
            severity: {
              type: 'string',
              enum: ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'],
              description: 'images with at least one finding of this severity',
            },
            kev: { type: 'boolean', description: 'images with a finding in CISA KEV' },
            fixable: { type: 'boolean', description: 'images with a fixable finding' },
            cursor: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'next'],
            properties: { items: { type: 'array', items: imageSummary }, next: { type: ['string', 'null'] } },
          },
          400: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => listImages(s.db, req.query),
  );

  app.get<{ Params: { digest: string } }>(
    '/api/v1/images/:digest',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'One image by digest: where it was seen and its latest scan with findings',
        tags: ['images'],
        params: {
          type: 'object',
          properties: { digest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' } },
        },
        response: { 200: imageDetail, 400: errorSchema, 404: errorSchema, ...authErrors },
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
        scan: img.result ? { ...img.result, provenance: img.scanProvenance } : null,
      };
    },
  );
}
