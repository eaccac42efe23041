import { Type, type Static } from '@sinclair/typebox';
import { Digest, OpenObject } from './common.js';

export const CompareQuery = Type.Object({ from: Digest, to: Digest }, { additionalProperties: false });

/** One side of a comparison: the image, its grade and the risk it carries, in numbers and words. */
const Side = Type.Object({
  image: Type.String(),
  digest: Type.Optional(Type.String()),
  os: Type.Optional(Type.String()),
  grade: Type.String(),
  /** Sum of the findings' risk scores. */
  risk: Type.Number(),
  vulnerabilities: Type.Integer(),
  baseLayer: Type.Optional(Type.String()),
  /** The risk number in words, as the image page says it. */
  riskExplanation: Type.String(),
});

const PackageRef = Type.Object({ type: Type.String(), name: Type.String(), version: Type.String() });

/** A vulnerability fixed or introduced, in a package. */
const FindingRef = Type.Object({
  id: Type.String(),
  severity: Type.String(),
  package: Type.String(),
  version: Type.String(),
  fixedVersion: Type.Optional(Type.String()),
  risk: Type.Number(),
});

export const ComparisonShape = Type.Object({
  schemaVersion: Type.Literal(1),
  from: Side,
  to: Side,
  packages: Type.Object({
    added: Type.Array(PackageRef),
    removed: Type.Array(PackageRef),
    changed: Type.Array(Type.Intersect([PackageRef, Type.Object({ from: Type.String() })])),
    unchanged: Type.Integer(),
  }),
  vulnerabilities: Type.Object({
    fixed: Type.Array(FindingRef),
    introduced: Type.Array(FindingRef),
    unchanged: Type.Integer(),
    /** Introduced minus fixed, per severity. */
    delta: Type.Record(Type.String(), Type.Integer()),
  }),
  baseImageChanged: Type.Boolean(),
});
export type Comparison = Static<typeof ComparisonShape>;

/**
 * What changed from one image to another (compare/compare.ts, and each side's risk in words): open
 * in the API document (as it always was), typed as the shape above, which the route and the page share.
 */
export const Comparison = Type.Unsafe<Comparison>(OpenObject);
