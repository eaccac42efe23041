import { Type, type Static } from '@sinclair/typebox';
import { Filled, Nullable } from './common.js';

/** One day of an environment: the images running then, their worst grade and summed counts. */
export const TrendDay = Filled(
  Type.Object({
    day: Type.Optional(Type.String()),
    images: Type.Optional(Type.Integer()),
    worstGrade: Type.Optional(Nullable(Type.String())),
    critical: Type.Optional(Type.Integer()),
    high: Type.Optional(Type.Integer()),
    kev: Type.Optional(Type.Integer()),
    total: Type.Optional(Type.Integer()),
  }),
);
export type TrendDay = Static<typeof TrendDay>;

export const TrendQuery = Type.Object(
  { days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, default: 30 })) },
  { additionalProperties: false },
);
