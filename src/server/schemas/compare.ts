import { Type } from '@sinclair/typebox';
import { OpenObject, Digest } from './common.js';

export const CompareQuery = Type.Object({ from: Digest, to: Digest }, { additionalProperties: false });

/** What changed from one image to another (compare/compare.ts; open in the API document). */
export const Comparison = OpenObject;
