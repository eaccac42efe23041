import { Type, type Static } from '@sinclair/typebox';
import { OpenObject } from './common.js';

/** One rule of an environment's policy (docs/policy.md lists the checks and their settings). */
export const PolicyRuleShape = Type.Object({
  id: Type.String(),
  check: Type.String(),
  description: Type.Optional(Type.String()),
  severity: Type.String(),
  with: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

export const PolicyShape = Type.Object({
  environments: Type.Record(
    Type.String(),
    Type.Object({ description: Type.Optional(Type.String()), rules: Type.Array(PolicyRuleShape) }),
  ),
});
export type PolicyRule = Static<typeof PolicyRuleShape>;
export type PolicyDocument = Static<typeof PolicyShape>;

/**
 * The policy file the server judges by, rules per environment. Open in the API document (as it
 * always was); its type is the shape above, which the route's answer is checked against.
 */
export const PolicyDocument = Type.Unsafe<PolicyDocument>(OpenObject);
