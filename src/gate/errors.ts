import { DomainError } from '../services/errors.js';

/** A refusal of the gate: a DomainError of one of four kinds (400/403/404/409 in the API). */
export class GateError extends DomainError {
  constructor(message: string, kind: 'invalid' | 'forbidden' | 'not_found' | 'conflict') {
    super(kind, message);
    this.name = 'GateError';
  }
}
