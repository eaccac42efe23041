import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from './common.js';

/** The server's vulnerability database: version, origin, sources, and the updates it installed. */
export const DatabaseState = Type.Object({
  version: Type.Optional(Nullable(Type.String())),
  origin: Type.Optional(Nullable(Type.String())),
  expires: Type.Optional(Nullable(Type.String())),
  expired: Type.Optional(Type.Boolean()),
  notice: Type.Optional(Nullable(Type.String())),
  sources: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.Optional(Type.String()),
        records: Type.Optional(Type.Integer()),
        updatedAt: Type.Optional(Nullable(Type.String())),
        status: Type.Optional(Type.String()),
      }),
    ),
  ),
  updates: Type.Optional(
    Type.Array(
      Type.Object({
        version: Type.Optional(Type.String()),
        origin: Type.Optional(Type.String()),
        mode: Type.Optional(Type.String()),
        bytes: Type.Optional(Type.Integer()),
        changedPackages: Type.Optional(Type.Integer()),
        rescans: Type.Optional(Type.Integer()),
        installedAt: Type.Optional(Type.String()),
      }),
    ),
  ),
});
export type DatabaseState = Static<typeof DatabaseState>;

/** What an update did. */
export const DatabaseUpdate = Type.Object({
  status: Type.Optional(StringEnum(['current', 'installed'])),
  version: Type.Optional(Type.String()),
  origin: Type.Optional(Type.String()),
  mode: Type.Optional(Type.String()),
  bytes: Type.Optional(Type.Integer()),
  changedPackages: Type.Optional(Nullable(Type.Integer())),
  rescans: Type.Optional(Type.Integer()),
  changedImages: Type.Optional(Type.Integer()),
  queued: Type.Optional(Type.Integer()),
});
export type DatabaseUpdate = Static<typeof DatabaseUpdate>;

/** Re-match every stored inventory (`all` must be true: nothing narrower exists yet). */
export const RescanInput = Type.Object({ all: Type.Literal(true) }, { additionalProperties: false });
export const RescanQueued = Type.Object({ queued: Type.Optional(Type.Integer()) });
