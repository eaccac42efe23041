import { CustomsError } from '../errors.js';

/**
 * The one error a service, the gate or a route throws to refuse a request: a kind, which decides
 * the HTTP status (Fastify's error handler in server/app.ts maps it), and the code the API answers
 * with in `{"error": {"code", "message"}}` (the kind's own unless a more precise one is given:
 * `registry_not_configured`, `locked`, `no_database`…). Clients and tests match on these codes.
 */
export const DOMAIN_KINDS = {
  invalid: { status: 400, code: 'invalid_request' },
  unauthorized: { status: 401, code: 'unauthorized' },
  forbidden: { status: 403, code: 'forbidden' },
  not_found: { status: 404, code: 'not_found' },
  conflict: { status: 409, code: 'conflict' },
  too_many: { status: 429, code: 'rate_limited' },
  upstream: { status: 502, code: 'bad_gateway' },
  unavailable: { status: 503, code: 'unavailable' },
} as const;

export type DomainKind = keyof typeof DOMAIN_KINDS;

export class DomainError extends CustomsError {
  readonly code: string;
  constructor(
    readonly kind: DomainKind,
    message: string,
    code?: string,
  ) {
    super(message);
    this.name = 'DomainError';
    this.code = code ?? DOMAIN_KINDS[kind].code;
  }

  get status(): number {
    return DOMAIN_KINDS[this.kind].status;
  }
}

/**
 * A user error from below (the store refusing a bad role or URL, a key that does not parse: a
 * CustomsError) becomes an `invalid` refusal; a DomainError keeps its kind; anything else is a bug
 * (the handler answers 500 without its message).
 */
export async function asInvalid<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof CustomsError && !(err instanceof DomainError))
      throw new DomainError('invalid', err.message);
    throw err;
  }
}
