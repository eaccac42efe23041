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

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** Responses every authenticated route may give, for the OpenAPI document. */
export const authErrors = { 401: errorSchema, 403: errorSchema } as const;
