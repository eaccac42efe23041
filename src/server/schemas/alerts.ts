import { Type, type Static } from '@sinclair/typebox';
import { AnyObject, Filled, Nullable, StringEnum } from './common.js';

export const ALERT_KINDS = ['findings', 'exception-expiry', 'policy', 'audit-head', 'provenance'] as const;
export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;

/** An alert delivery: what was sent where, and whether it landed. */
export const AlertRecord = Filled(
  Type.Object({
    id: Type.Optional(Type.Integer()),
    channel: Type.Optional(Type.Integer()),
    kind: Type.Optional(StringEnum(ALERT_KINDS)),
    summary: Type.Optional(Nullable(Type.String())),
    environment: Type.Optional(Type.String()),
    image: Type.Optional(Type.String()),
    dbVersion: Type.Optional(Type.String()),
    findings: Type.Optional(Type.Array(AnyObject)),
    state: Type.Optional(StringEnum(DELIVERY_STATES)),
    attempts: Type.Optional(Type.Integer()),
    lastError: Type.Optional(Nullable(Type.String())),
    createdAt: Type.Optional(Type.String()),
    deliveredAt: Type.Optional(Nullable(Type.String())),
  }),
);
export type AlertRecord = Static<typeof AlertRecord>;
