/** JSON schemas shared by routes: they validate requests and make up the OpenAPI document. */
export const counts = {
  type: 'object',
  required: ['critical', 'high', 'medium', 'low', 'unknown', 'kev', 'fixable', 'total'],
  properties: Object.fromEntries(
    ['critical', 'high', 'medium', 'low', 'unknown', 'kev', 'fixable', 'total'].map((k) => [
      k,
      { type: 'integer' },
    ]),
  ),
} as const;

/** Who read an inventory, and so every result matched from it (docs/server.md, Provenance). */
export const provenance = {
  type: 'object',
  required: ['kind', 'by', 'at'],
  properties: {
    kind: { type: 'string', enum: ['server-scan', 'reported', 'attested-sbom'] },
    by: {
      type: ['string', 'null'],
      description: 'the job source of a server scan; the token or user of a report',
    },
    at: { type: ['string', 'null'] },
  },
} as const;

export const scanSummary = {
  type: ['object', 'null'],
  required: ['id', 'dbVersion', 'source', 'createdAt', 'grade', 'risk', 'counts'],
  properties: {
    id: { type: 'integer' },
    dbVersion: { type: 'string' },
    source: { type: 'string' },
    createdAt: { type: 'string' },
    grade: { type: 'string', enum: ['A', 'B', 'C', 'D', 'E', 'F'] },
    risk: { type: 'number' },
    riskExplanation: { type: 'string', description: 'the risk in words (the CLI --explain text)' },
    provenance,
    counts,
  },
} as const;

export const imageSummary = {
  type: 'object',
  required: ['registry', 'repository', 'digest', 'tags', 'firstSeen', 'lastSeen', 'status', 'scan'],
  properties: {
    id: { type: 'integer' },
    registry: { type: 'string' },
    repository: { type: 'string' },
    digest: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    platform: { type: ['string', 'null'] },
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'scanned'] },
    scan: scanSummary,
  },
} as const;

/** Findings and other scan documents pass through whole (docs/scanning.md describes them). */
const anyObject = { type: 'object', additionalProperties: true } as const;

export const imageDetail = {
  type: 'object',
  required: ['digest', 'refs', 'packages', 'scan'],
  properties: {
    digest: { type: 'string' },
    refs: { type: 'array', items: imageSummary },
    packages: { type: 'integer', description: 'packages in the stored inventory' },
    provenance: { ...provenance, type: ['object', 'null'], description: 'who read the stored inventory' },
    context: {
      type: ['object', 'null'],
      description: 'where a CI upload came from: repository, commit, pipelineUrl, environment',
      additionalProperties: { type: 'string' },
    },
    scan: {
      type: ['object', 'null'],
      properties: {
        createdAt: { type: 'string' },
        provenance,
        database: anyObject,
        os: anyObject,
        image: anyObject,
        summary: anyObject,
        coverage: anyObject,
        findings: { type: 'array', items: anyObject },
        suppressed: { type: 'array', items: anyObject },
        secrets: { type: 'array', items: anyObject },
        misconfigurations: { type: 'array', items: anyObject },
        warnings: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

/** An environment's name as every route takes it. */
export const envName = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' } as const;

/** A user name and password, as both sign-in routes take them. */
export const credentials = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', maxLength: 200 },
    password: { type: 'string', maxLength: 1000 },
  },
} as const;

/** The newest scan of an image in brief (counts where the answer has them). */
export const scanBrief = {
  type: ['object', 'null'],
  properties: {
    grade: { type: 'string' },
    risk: { type: 'number' },
    riskExplanation: { type: 'string', description: 'the risk in words (the CLI --explain text)' },
    dbVersion: { type: 'string' },
    scannedAt: { type: 'string' },
    counts,
  },
} as const;

/** The `:digest` path parameter of image routes. */
export const digestParam = {
  type: 'object',
  required: ['digest'],
  properties: { digest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' } },
} as const;
