import { OpenObject } from './common.js';

/** The policy file the server judges by (docs/policy.md describes it; open in the API document). */
export const PolicyDocument = OpenObject;
