import { Type } from '@sinclair/typebox';
import { EnvName, StringEnum } from './common.js';

export const VexQuery = Type.Object(
  {
    environment: Type.Optional(
      Type.String({
        pattern: EnvName.pattern,
        description: 'exceptions in force there (default: those for every environment)',
      }),
    ),
    signed: Type.Optional(StringEnum(['1', 'true', '0', 'false'] as const)),
  },
  { additionalProperties: false },
);

/** OpenVEX JSON, or a DSSE envelope of it (serialized by the route). */
export const VexAnswer = Type.Unsafe<string>({ description: 'OpenVEX JSON, or a DSSE envelope of it' });
