import { Type, type Static } from '@sinclair/typebox';
import { EnvName, Filled, Nullable, ScanBrief, StringEnum } from './common.js';

export const EXPOSURES = ['internet', 'internal'] as const;

/** An environment to add or change. */
export const EnvironmentInput = Type.Object(
  { name: EnvName, exposure: StringEnum(EXPOSURES) },
  { additionalProperties: false },
);
export type EnvironmentInput = Static<typeof EnvironmentInput>;

export const EnvironmentRecord = Filled(
  Type.Object({
    name: Type.Optional(Type.String()),
    exposure: Type.Optional(Type.String()),
  }),
);

/** An environment in the list: how many images run there and its worst grade. */
export const EnvironmentSummary = Filled(
  Type.Object({
    name: Type.Optional(Type.String()),
    exposure: Type.Optional(Type.String()),
    images: Type.Optional(Type.Integer()),
    worstGrade: Type.Optional(Nullable(Type.String())),
    kev: Type.Optional(Type.Integer()),
    critical: Type.Optional(Type.Integer()),
  }),
);
export type EnvironmentSummary = Static<typeof EnvironmentSummary>;

/** An image running in an environment now. */
export const Deployed = Type.Object({
  image: Type.Optional(Type.String()),
  registry: Type.Optional(Type.String()),
  repository: Type.Optional(Type.String()),
  digest: Type.Optional(Type.String()),
  namespace: Type.Optional(Nullable(Type.String())),
  service: Type.Optional(Nullable(Type.String())),
  deployedAt: Type.Optional(Type.String()),
  scan: Type.Optional(ScanBrief),
});

export const EnvironmentDetail = Type.Object({
  name: Type.Optional(Type.String()),
  exposure: Type.Optional(Type.String()),
  images: Type.Optional(Type.Array(Deployed)),
  more: Type.Optional(Type.Integer({ description: 'Images running there not listed (past `limit`)' })),
});
export type EnvironmentDetail = Static<typeof EnvironmentDetail>;

/** One deployment in an environment's history, with what it changed. */
export const HistoryEntry = Type.Object({
  deployedAt: Type.Optional(Type.String()),
  endedAt: Type.Optional(Nullable(Type.String(), { description: 'When the cluster stopped running it' })),
  image: Type.Optional(Type.String()),
  repository: Type.Optional(Type.String()),
  digest: Type.Optional(Type.String()),
  namespace: Type.Optional(Nullable(Type.String())),
  service: Type.Optional(Nullable(Type.String())),
  scan: Type.Optional(ScanBrief),
  change: Type.Optional(
    Nullable(
      Type.Object({
        previous: Type.Optional(Type.String()),
        introduced: Type.Optional(Nullable(Type.Integer())),
        fixed: Type.Optional(Nullable(Type.Integer())),
        packages: Type.Optional(
          Type.Object(
            {
              added: Type.Optional(Type.Integer()),
              removed: Type.Optional(Type.Integer()),
              changed: Type.Optional(Type.Integer()),
            },
            { description: 'Packages added, removed and at another version than in the previous deployment' },
          ),
        ),
        baseImageChanged: Type.Optional(Type.Boolean({ description: 'Another OS release or base layer' })),
      }),
    ),
  ),
});
export type HistoryEntry = Static<typeof HistoryEntry>;
