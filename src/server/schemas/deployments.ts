import { Type, type Static } from '@sinclair/typebox';
import { EnvName } from './common.js';

/** "This image (by digest) now runs in this environment", from a CD pipeline. */
export const DeploymentInput = Type.Object(
  {
    image: Type.String({ maxLength: 512, description: 'registry/repository@sha256:…' }),
    environment: EnvName,
    namespace: Type.Optional(Type.String({ maxLength: 253 })),
    service: Type.Optional(Type.String({ maxLength: 253 })),
  },
  { additionalProperties: false },
);
export type DeploymentInput = Static<typeof DeploymentInput>;

export const DeploymentRecorded = Type.Object({
  id: Type.Optional(Type.Integer()),
  image: Type.Optional(Type.String()),
  environment: Type.Optional(Type.String()),
  scanQueued: Type.Optional(Type.Boolean()),
});
export type DeploymentRecorded = Static<typeof DeploymentRecorded>;
