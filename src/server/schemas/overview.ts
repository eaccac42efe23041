import { Type, type Static } from '@sinclair/typebox';
import { Filled, Nullable, OpenObject } from './common.js';
import { HistoryEntry } from './environments.js';

export const OverviewQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 20_000,
        default: 200,
        description: 'workloads listed per environment, worst first (the counts cover all)',
      }),
    ),
  },
  { additionalProperties: false },
);

const WorstCounts = Type.Object({
  critical: Type.Integer(),
  high: Type.Integer(),
  kev: Type.Integer(),
  fixable: Type.Integer(),
});

/** A workload running now, as the gate sees it there (after the environment's exceptions). */
export const OverviewWorkload = Type.Object({
  image: Type.String(),
  registry: Type.String(),
  repository: Type.String(),
  digest: Type.String(),
  tags: Type.Array(Type.String()),
  namespace: Nullable(Type.String()),
  service: Nullable(Type.String()),
  deployedAt: Type.String(),
  source: Type.String(),
  scan: Nullable(
    Type.Object({
      grade: Type.String(),
      gradeReason: Nullable(Type.String()),
      risk: Type.Number(),
      /** The risk in words (the CLI's --explain text); null from a verdict stored before it. */
      riskExplanation: Nullable(Type.String()),
      counts: WorstCounts,
      /** What the environment's exceptions set aside (not in the counts). */
      waived: Nullable(Type.Object({ total: Type.Integer(), kev: Type.Integer(), fixable: Type.Integer() })),
      uncovered: Type.Array(Type.String()),
      coverage: Nullable(
        Type.Object({ complete: Type.Boolean(), uncovered: Type.Array(Type.String()), gaps: Type.String() }),
      ),
      provenance: Type.Object({ kind: Type.String(), by: Nullable(Type.String()) }),
    }),
  ),
  decision: Type.Object({
    allowed: Type.Boolean(),
    status: Type.String(),
    reasons: Type.Array(Type.String()),
    /** `by`: the identity recorded; `byName`: the person, as people read it. */
    accepted: Nullable(
      Type.Object({
        count: Type.Integer(),
        by: Nullable(Type.String()),
        byName: Type.Optional(Nullable(Type.String())),
        at: Nullable(Type.String()),
      }),
    ),
    exceptions: Nullable(
      Type.Object({
        count: Type.Integer(),
        by: Type.Array(Type.String()),
        byNames: Type.Optional(Type.Array(Type.String())),
        until: Type.String(),
      }),
    ),
  }),
  topFix: Nullable(Type.String()),
  /** The gate changed: this verdict is the previous one, being judged again since then. */
  rejudgingSince: Nullable(Type.String()),
});

/** One environment of the overview: its workloads worst first, their sums, the last deployments. */
export const OverviewShape = Type.Object({
  name: Type.String(),
  exposure: Type.String(),
  workloads: Type.Integer(),
  notAcceptable: Type.Integer(),
  counts: WorstCounts,
  uncovered: Type.Integer(),
  rejudging: Nullable(Type.Object({ workloads: Type.Integer(), since: Type.String() })),
  running: Type.Array(OverviewWorkload),
  more: Type.Integer(),
  recent: Type.Array(Filled(HistoryEntry)),
});
export type OverviewEnvironment = Static<typeof OverviewShape>;

/**
 * The overview's answer per environment: open in the API document (as it always was; the route
 * serializes it itself), typed as the shape above, which the route and the page share.
 */
export const OverviewEnvironment = Type.Unsafe<OverviewEnvironment>(OpenObject);
