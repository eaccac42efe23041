import { CustomsError } from '../errors.js';

/** A refusal of the gate with its kind, so the API can answer 403/404/409 without string matching. */
export class GateError extends CustomsError {
  constructor(
    message: string,
    readonly kind: 'invalid' | 'forbidden' | 'not_found' | 'conflict',
  ) {
    super(message);
    this.name = 'GateError';
  }
}
