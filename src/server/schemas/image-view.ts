import { Type, type Static } from '@sinclair/typebox';
import { EnvName, Nullable, OpenObject, Provenance } from './common.js';

export const ImageViewQuery = Type.Object(
  { environment: Type.Optional(EnvName) },
  { additionalProperties: false },
);

/** A finding as the image page shows it (docs/scan-json.md has the whole; these are what it reads). */
export const ViewFinding = Type.Object({
  kind: Type.Optional(Type.Literal('malicious')),
  id: Type.String(),
  aliases: Type.Array(Type.String()),
  package: Type.Object({ name: Type.String(), version: Type.String(), type: Type.String() }),
  status: Type.String(),
  fixedVersion: Type.Optional(Type.String()),
  severity: Type.Object({ level: Type.String() }),
  kev: Type.Optional(Type.Object({})),
  epss: Type.Optional(Type.Object({ score: Type.Number() })),
  title: Type.Optional(Type.String()),
  risk: Type.Object({
    score: Type.Number(),
    factors: Type.Array(Type.Object({ name: Type.String(), value: Type.Number(), detail: Type.String() })),
    /** The risk in words, written by the server (the CLI's --explain text). */
    explanation: Type.String(),
  }),
  suppression: Type.Optional(
    Type.Object({ by: Type.String(), reason: Type.String(), source: Type.String() }),
  ),
});
export type ViewFinding = Static<typeof ViewFinding>;

/** The decision for one environment (what admission answers there). */
export const ViewDecision = Type.Object({
  environment: Type.String(),
  allowed: Type.Boolean(),
  status: Type.String(),
  reasons: Type.Array(Type.String()),
  trust: Nullable(Type.Object({ required: Type.Boolean(), trusted: Type.Boolean(), reason: Type.String() })),
});

const CoveragePart = Type.Object({
  kind: Type.String(),
  name: Type.String(),
  packages: Type.Integer(),
  status: Type.String(),
  detail: Type.String(),
});
export const ViewCoverage = Type.Object({
  complete: Type.Boolean(),
  os: Type.Optional(CoveragePart),
  ecosystems: Type.Array(CoveragePart),
});

const Tally = Type.Object({ total: Type.Integer(), kev: Type.Integer(), fixable: Type.Integer() });

/** An image's page in one answer. */
export const ImageViewShape = Type.Object({
  digest: Type.String(),
  environment: Type.String(),
  names: Type.Array(Type.String()),
  tags: Type.Array(Type.String()),
  scan: Nullable(
    Type.Object({
      grade: Type.String(),
      risk: Type.Number(),
      dbVersion: Type.String(),
      scannedAt: Type.String(),
    }),
  ),
  provenance: Provenance,
  image: Type.Object({
    os: Nullable(Type.String()),
    base: Nullable(
      Type.Object({
        eol: Nullable(Type.String()),
        endOfLife: Nullable(Type.Boolean()),
        releasesBehind: Nullable(Type.Integer()),
      }),
    ),
    layers: Type.Array(
      Type.Object({
        index: Type.Integer(),
        /** The layer's diff id and size, where the image source gives them. */
        digest: Type.Optional(Type.String()),
        size: Type.Optional(Type.Number()),
        createdBy: Nullable(Type.String()),
        base: Type.Boolean(),
      }),
    ),
    attestations: Type.Array(
      Type.Object({
        kind: Type.String(),
        type: Type.String(),
        provenance: Type.Optional(
          Type.Object({ builder: Type.Optional(Type.String()), sourceRepo: Type.Optional(Type.String()) }),
        ),
      }),
    ),
  }),
  /** Counted after the environment's exceptions (what the gate sees). */
  summary: Type.Intersect([Tally, Type.Object({ gradeReason: Type.String() })]),
  /** What the environment's exceptions set aside. */
  waived: Type.Optional(Tally),
  /** The risk of the findings shown, and why, in words (written by the server). */
  risk: Type.Object({ score: Type.Number(), explanation: Type.String() }),
  coverage: Nullable(ViewCoverage),
  warnings: Type.Array(Type.String()),
  findings: Type.Array(ViewFinding),
  suppressed: Type.Array(ViewFinding),
  secrets: Type.Array(
    Type.Object({
      rule: Type.String(),
      title: Type.Optional(Type.String()),
      path: Type.Optional(Type.String()),
      severity: Type.String(),
    }),
  ),
  misconfigurations: Type.Array(
    Type.Object({ rule: Type.String(), severity: Type.String(), title: Type.String(), fix: Type.String() }),
  ),
  packages: Type.Array(
    Type.Object({
      name: Type.String(),
      version: Type.String(),
      type: Type.String(),
      layer: Nullable(Type.Integer()),
      origin: Type.String(),
    }),
  ),
  advice: Type.Object({
    upgrades: Type.Array(
      Type.Object({
        package: Type.String(),
        from: Type.String(),
        to: Type.String(),
        fixes: Type.Array(Type.String()),
        inBase: Type.Boolean(),
      }),
    ),
    plan: Type.Array(Type.String()),
  }),
  decisions: Type.Array(ViewDecision),
});
export type ImageView = Static<typeof ImageViewShape>;

/**
 * An image's page in one answer: open in the API document (as it always was), typed as the shape
 * above, which the route and the image page share.
 */
export const ImageView = Type.Unsafe<ImageView>(OpenObject);
