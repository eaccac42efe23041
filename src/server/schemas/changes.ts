import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from './common.js';

/** A finding that appeared, went away or changed for an image, and the database version that did it. */
export const FindingChange = Type.Object({
  kind: Type.Optional(StringEnum(['new', 'fixed', 'changed'])),
  vulnerability: Type.Optional(Type.String()),
  package: Type.Optional(Type.String()),
  severity: Type.Optional(Type.String()),
  kev: Type.Optional(Type.Boolean()),
  dbVersion: Type.Optional(Type.String()),
  at: Type.Optional(Type.String()),
});
export type FindingChange = Static<typeof FindingChange>;
