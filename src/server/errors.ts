import { Type } from '@sinclair/typebox';
import { DomainError, DOMAIN_KINDS, type DomainKind } from '../services/errors.js';

const kindOf = (status: number): DomainKind => {
  const k = (Object.keys(DOMAIN_KINDS) as DomainKind[]).find((x) => DOMAIN_KINDS[x].status === status);
  if (!k) throw new Error(`no DomainError kind answers ${status}`);
  return k;
};

/**
 * The older spelling of a DomainError, by HTTP status (kept for callers that think in statuses,
 * such as the fuzz targets); the answer is the same: {"error": {"code", "message"}}.
 */
export class HttpError extends DomainError {
  constructor(status: number, code: string, message: string) {
    super(kindOf(status), message, code);
  }
}

/**
 * Every error answer: {"error": {"code", "message"}}. A TypeBox schema, so that a route's answer
 * type (the union over its statuses) stays the 200 shape or this, and a handler returning anything
 * else is a type error.
 */
export const errorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

/** Responses every authenticated route may give, for the OpenAPI document. */
export const authErrors = { 401: errorSchema, 403: errorSchema } as const;
