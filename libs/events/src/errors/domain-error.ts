export interface FieldProblem {
  field: string;
  reason: string;
}

/** How the api maps a code to a status; libraries never throw HttpException (they also run in the worker). */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'too_many'
  /** What the request points at existed and is no longer kept (an expired catch-up cursor): 410. */
  | 'gone'
  /** A dependency (the database) is briefly gone: 503 with Retry-After. */
  | 'unavailable';

/** A coded error a library throws; `code` reads like `EVENTS.UNKNOWN_TYPE`. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly kind: ErrorKind = 'invalid',
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
