import { Type, type Static } from '@sinclair/typebox';

/** Which new findings raise an alert in an environment. */
export const AlertRules = Type.Object(
  {
    critical: Type.Optional(Type.Boolean()),
    kev: Type.Optional(Type.Boolean()),
    epss: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);
export type AlertRules = Static<typeof AlertRules>;

export const AlertRulesRecord = Type.Object({
  critical: Type.Optional(Type.Boolean()),
  kev: Type.Optional(Type.Boolean()),
  epss: Type.Optional(Type.Number()),
});
