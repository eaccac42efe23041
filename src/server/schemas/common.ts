/**
 * TypeBox building blocks for the route schemas in this folder. Each schema is plain JSON Schema
 * (what Fastify validates with and the OpenAPI document shows) and carries its static type, which
 * the routes get through the TypeBox type provider and `web/` imports (web/src/client.ts): a shape
 * is written once, here. These files import nothing but TypeBox and pure modules, as the web build
 * type-checks them.
 */
import { Kind, Type, type Static, type TObject, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import { digestParam, envName, scanBrief } from '../schemas.js';

/** `{type: [T, 'null']}`: the spelling the OpenAPI document has used (not an anyOf). */
export function Nullable<T extends TSchema & { type: string }>(schema: T, options: SchemaOptions = {}) {
  const { type, ...rest } = schema;
  return Type.Unsafe<Static<T> | null>({ ...rest, [Kind]: 'Unsafe', type: [type, 'null'], ...options });
}

/** A string of a fixed set, as `{type: 'string', enum: [...]}` (TypeBox's own is an anyOf of literals). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/**
 * An answer whose every field the server fills, though its schema does not list them all as
 * required (as the hand-written schemas before it did not: the OpenAPI document is unchanged). The
 * static type has them all, and the handler's return is checked against it by the type provider.
 */
export function Filled<T extends TObject>(schema: T) {
  return Type.Unsafe<Required<Static<T>>>({ ...schema, [Kind]: 'Unsafe' });
}

/** An object passed through whole (scan documents, job payloads). */
export const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

/** An environment's name as every route takes it (the one pattern in ../schemas.ts). */
export const EnvName = Type.Unsafe<string>(envName);

/** Environments a token or user is limited to. */
export const EnvList = Type.Array(EnvName, {
  maxItems: 50,
  description: 'limit to these environments (approvers: where they may approve)',
});

/** `:id` of the routes that name a record by its number. */
export const IdParam = Type.Object({ id: Type.Integer() });

/** `:name` of the environment routes. */
export const EnvParam = Type.Object({ name: EnvName });

/** `:digest` of the image routes (../schemas.ts `digestParam`, which the gate routes share). */
export const DigestParam = Type.Unsafe<{ digest: string }>(digestParam);

/** The newest scan of an image in brief (../schemas.ts `scanBrief`, which other routes share). */
export const ScanBrief = Type.Unsafe<{
  grade?: string;
  risk?: number;
  dbVersion?: string;
  scannedAt?: string;
  counts?: Record<string, number>;
} | null>(scanBrief);

/** No body (204 answers). */
export const NoContent = Type.Null();
