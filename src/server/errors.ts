/** The one error shape every endpoint answers with: {"error": {"code", "message"}}. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
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
