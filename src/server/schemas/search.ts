import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from './common.js';

export const SearchQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({
        maxLength: 300,
        description: 'CVE/GHSA id, name@version, a digest, or repository/tag text',
      }),
    ),
    package: Type.Optional(Type.String({ maxLength: 300 })),
    version: Type.Optional(Type.String({ maxLength: 200 })),
    vulnerability: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
  },
  { additionalProperties: false },
);

/** The image's newest scan in a search hit. */
export const HitScan = Nullable(
  Type.Object({
    grade: Type.Optional(Type.String()),
    total: Type.Optional(Type.Integer()),
    kev: Type.Optional(Type.Integer()),
    risk: Type.Optional(Type.Number()),
    riskExplanation: Type.Optional(
      Type.String({ description: 'the risk in words (the CLI --explain text)' }),
    ),
    uncovered: Type.Optional(Type.Array(Type.String())),
  }),
  {
    description:
      "The image's newest scan; `uncovered` names each part the database did not cover and why (then no finding there means nothing was checked)",
  },
);
/** As the server fills it: every field. */
export type HitScan = Required<NonNullable<Static<typeof HitScan>>> | null;

/** An image found: what matched in it, its names, where it runs now and its newest scan. */
export const SearchHit = Type.Object({
  digest: Type.Optional(Type.String()),
  images: Type.Optional(Type.Array(Type.String())),
  package: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  vulnerability: Type.Optional(Type.String()),
  severity: Type.Optional(Type.String()),
  runningIn: Type.Optional(Type.Array(Type.String())),
  scan: Type.Optional(Type.Unsafe<HitScan>(HitScan)),
});
/** As the server fills it: the digest, names, places and scan always; what matched where it applies. */
export type SearchHit = Required<Pick<Static<typeof SearchHit>, 'digest' | 'images' | 'runningIn' | 'scan'>> &
  Pick<Static<typeof SearchHit>, 'package' | 'version' | 'vulnerability' | 'severity'>;

export const SearchAnswer = Type.Unsafe<{ kind: 'package' | 'vulnerability' | 'image'; items: SearchHit[] }>(
  Type.Object({
    kind: Type.Optional(StringEnum(['package', 'vulnerability', 'image'] as const)),
    items: Type.Optional(Type.Array(SearchHit)),
  }),
);
export type SearchAnswer = Static<typeof SearchAnswer>;
