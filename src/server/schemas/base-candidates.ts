import { Type, type Static } from '@sinclair/typebox';

/** A newer base image and what moving to it would remove. */
export const BaseCandidate = Type.Object({
  image: Type.Optional(Type.String()),
  os: Type.Optional(Type.String()),
  removes: Type.Optional(Type.Integer()),
  removed: Type.Optional(Type.Array(Type.String())),
  carries: Type.Optional(Type.Integer()),
  riskRemoved: Type.Optional(Type.Number()),
  sameFamily: Type.Optional(Type.Boolean()),
  supported: Type.Optional(Type.Boolean()),
});

/** Newer base images found, with where the server looked and what it could not read. */
export const BaseCandidates = Type.Object({
  candidates: Type.Optional(Type.Array(BaseCandidate)),
  looked: Type.Optional(Type.Array(Type.String())),
  pending: Type.Optional(Type.Array(Type.String())),
  unscanned: Type.Optional(
    Type.Array(Type.String(), {
      description: 'tags not scanned yet and not queued: the asker may not request scans',
    }),
  ),
  problems: Type.Optional(Type.Array(Type.String())),
});
/** As the server fills it: every list (a candidate's `os` only where the image names one). */
export type BaseCandidatesAnswer = Required<Omit<Static<typeof BaseCandidates>, 'candidates'>> & {
  candidates: Array<Required<Omit<Static<typeof BaseCandidate>, 'os'>> & { os?: string }>;
};
export const BaseCandidatesAnswer = Type.Unsafe<BaseCandidatesAnswer>(BaseCandidates);
