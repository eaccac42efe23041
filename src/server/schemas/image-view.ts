import { Type } from '@sinclair/typebox';
import { OpenObject, EnvName } from './common.js';

export const ImageViewQuery = Type.Object(
  { environment: Type.Optional(EnvName) },
  { additionalProperties: false },
);

/** An image's page in one answer (open in the API document). */
export const ImageView = OpenObject;
