/**
 * TypeBox building blocks for the route schemas in this folder. Each schema is plain JSON Schema
 * (what Fastify validates with and the OpenAPI document shows) and carries its static type, which
 * the routes get through the TypeBox type provider and `web/` imports (web/src/client.ts): a shape
 * is written once, here. These files import nothing but TypeBox and pure modules, as the web build
 * type-checks them.
 */
import { Kind, Type, type Static, type TObject, type TSchema, type SchemaOptions } from '@sinclair/typebox';

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

/** As `Filled`, but the fields named stay optional (names of people who did not act). */
export function FilledExcept<T extends TObject, K extends keyof Static<T>>(
  schema: T,
  _optional: readonly K[],
) {
  return Type.Unsafe<Required<Omit<Static<T>, K>> & Partial<Pick<Static<T>, K>>>({
    ...schema,
    [Kind]: 'Unsafe',
  });
}

/** An object passed through whole (job payloads, alert findings): its fields read as unknown. */
export const AnyObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

/**
 * The same in the document, for answers whose shape is documented elsewhere (scan documents in
 * docs/scanning.md, AdmissionReview, the policy file): any object the handler has will do.
 */
export const OpenObject = Type.Unsafe<object>({ type: 'object', additionalProperties: true });

/** An environment's name as every route takes it. */
export const EnvName = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' });

/** Environments a token or user is limited to. */
export const EnvList = Type.Array(EnvName, {
  maxItems: 50,
  description: 'limit to these environments (approvers: where they may approve)',
});

/** `:id` of the routes that name a record by its number. */
export const IdParam = Type.Object({ id: Type.Integer() });

/** `:name` of the environment routes. */
export const EnvParam = Type.Object({ name: EnvName });

/** An image digest as the routes take it. */
export const Digest = Type.String({ pattern: '^sha256:[a-f0-9]{64}$' });

/** `:digest` of the image routes. */
export const DigestParam = Type.Object({ digest: Digest });

/** A user name and password, as both sign-in routes take them. */
export const Credentials = Type.Object(
  {
    username: Type.String({ maxLength: 200 }),
    password: Type.String({ maxLength: 1000 }),
  },
  { additionalProperties: false },
);
export type Credentials = Static<typeof Credentials>;

const COUNTS = ['critical', 'high', 'medium', 'low', 'unknown', 'kev', 'fixable', 'total'] as const;

/** Findings counted by severity, in CISA KEV, fixable, and in all. */
export const Counts = Type.Object(
  Object.fromEntries(COUNTS.map((k) => [k, Type.Integer()])) as Record<
    (typeof COUNTS)[number],
    ReturnType<typeof Type.Integer>
  >,
);
export type Counts = Static<typeof Counts>;

/** Who read an inventory, and so every result matched from it (docs/server.md, Provenance). */
export const Provenance = Type.Object({
  kind: StringEnum(['server-scan', 'reported', 'attested-sbom'] as const),
  by: Nullable(Type.String(), {
    description: 'the job source of a server scan; the token or user of a report',
  }),
  at: Nullable(Type.String()),
});
export type Provenance = Static<typeof Provenance>;

const riskExplanation = Type.String({ description: 'the risk in words (the CLI --explain text)' });

/** The newest scan of an image in brief (counts where the answer has them). */
export const ScanBrief = Nullable(
  Type.Object({
    grade: Type.Optional(Type.String()),
    risk: Type.Optional(Type.Number()),
    riskExplanation: Type.Optional(riskExplanation),
    dbVersion: Type.Optional(Type.String()),
    scannedAt: Type.Optional(Type.String()),
    counts: Type.Optional(Counts),
  }),
);
export type ScanBrief = Static<typeof ScanBrief>;

/** No body (204 answers). */
export const NoContent = Type.Null();
