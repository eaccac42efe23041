import { Type, type Static } from '@sinclair/typebox';
import { OpenObject, Counts, Nullable, Provenance, StringEnum } from './common.js';

const riskExplanation = Type.String({ description: 'the risk in words (the CLI --explain text)' });

/** An image's latest scan in the image list. */
export const ScanSummary = Nullable(
  Type.Object({
    id: Type.Integer(),
    dbVersion: Type.String(),
    source: Type.String(),
    createdAt: Type.String(),
    // Grades are written by rank/ only; the store reads them back as text.
    grade: Type.Unsafe<string>(StringEnum(['A', 'B', 'C', 'D', 'E', 'F'] as const)),
    risk: Type.Number(),
    riskExplanation: Type.Optional(riskExplanation),
    provenance: Type.Optional(Provenance),
    counts: Counts,
  }),
);

/** An image seen, with its latest scan. */
export const ImageSummary = Type.Object({
  id: Type.Optional(Type.Integer()),
  registry: Type.String(),
  repository: Type.String(),
  digest: Type.String(),
  tags: Type.Array(Type.String()),
  platform: Type.Optional(Nullable(Type.String())),
  firstSeen: Type.String(),
  lastSeen: Type.String(),
  status: StringEnum(['pending', 'scanned'] as const),
  scan: ScanSummary,
});
export type ImageSummary = Static<typeof ImageSummary>;

/** The image list's filters. */
export const ImageQuery = Type.Object(
  {
    repository: Type.Optional(Type.String()),
    tag: Type.Optional(Type.String()),
    digest: Type.Optional(Type.String()),
    severity: Type.Optional(
      StringEnum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const, {
        description: 'images with at least one finding of this severity',
      }),
    ),
    kev: Type.Optional(Type.Boolean({ description: 'images with a finding in CISA KEV' })),
    fixable: Type.Optional(Type.Boolean({ description: 'images with a fixable finding' })),
    cursor: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

export const ImagePage = Type.Object({
  items: Type.Array(ImageSummary),
  next: Nullable(Type.String()),
});
export type ImagePage = Static<typeof ImagePage>;

/** One image: where it was seen and its latest scan; scan documents pass through whole (docs/scanning.md). */
export const ImageDetail = Type.Object({
  digest: Type.String(),
  refs: Type.Array(ImageSummary),
  packages: Type.Integer({ description: 'packages in the stored inventory' }),
  provenance: Type.Optional(Nullable(Provenance, { description: 'who read the stored inventory' })),
  context: Type.Optional(
    Type.Unsafe<Record<string, string> | null>({
      type: ['object', 'null'],
      description: 'where a CI upload came from: repository, commit, pipelineUrl, environment',
      additionalProperties: { type: 'string' },
    }),
  ),
  scan: Nullable(
    Type.Object({
      createdAt: Type.Optional(Type.String()),
      provenance: Type.Optional(Provenance),
      database: Type.Optional(OpenObject),
      os: Type.Optional(OpenObject),
      image: Type.Optional(OpenObject),
      summary: Type.Optional(OpenObject),
      coverage: Type.Optional(OpenObject),
      findings: Type.Optional(Type.Array(OpenObject)),
      suppressed: Type.Optional(Type.Array(OpenObject)),
      secrets: Type.Optional(Type.Array(OpenObject)),
      misconfigurations: Type.Optional(Type.Array(OpenObject)),
      warnings: Type.Optional(Type.Array(Type.String())),
    }),
  ),
});
export type ImageDetail = Static<typeof ImageDetail>;
