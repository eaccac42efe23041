import { Type } from '@sinclair/typebox';
import { OpenObject } from './common.js';

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

/** One environment of the overview (open in the API document; serialized by the route). */
export const OverviewEnvironment = OpenObject;
