import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import {
  commitOutcomeUnknown,
  databaseUnavailable,
  DomainError,
  ErrorKind,
  isConnectionLost,
  uniqueViolationAsConflict,
} from '@wms/events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorBody } from './error-body.js';
import { FieldValidationException } from './validation.pipe.js';

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  too_many: 429,
  gone: 410,
  unavailable: 503,
};

/** Seconds a client waits before resending after a 503 (the pool reconnects within that). */
const RETRY_AFTER_SECONDS = 1;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

const MALFORMED_JSON = { code: 'REQUEST.MALFORMED_JSON', field: 'body', reason: 'is not valid JSON' };
/** Fastify's body and router errors carry a `code`; map them to the same error shape. */
const FASTIFY_ERRORS: Record<string, { code: string; field: string; reason: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: MALFORMED_JSON,
  FST_ERR_CTP_EMPTY_JSON_BODY: MALFORMED_JSON,
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'REQUEST.TOO_LARGE', field: 'body', reason: 'is larger than the allowed size' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'REQUEST.INVALID_LENGTH',
    field: 'body',
    reason: 'does not match its Content-Length',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
    field: 'Content-Type',
    reason: 'is not a supported media type (send application/json)',
  },
  // The router answers these before any hook or handler runs (see frameworkErrors in api.ts).
  FST_ERR_BAD_URL: { code: 'REQUEST.BAD_URL', field: 'path', reason: 'is not a valid URL (bad percent-encoding)' },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'REQUEST.PATH_TOO_LONG',
    field: 'path',
    reason: 'has a parameter longer than the router allows',
  },
};

const logger = new Logger('DomainErrorFilter');

/**
 * Maps coded domain errors and validation failures to 4xx, a lost database to 503 with Retry-After;
 * anything else is logged and becomes a 500 without internals.
 */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const res = host.switchToHttp().getResponse<FastifyReply>();
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const body = errorBody(error, req.method);
    if (body.statusCode === 503) {
      res.header('retry-after', String(RETRY_AFTER_SECONDS));
      logger.warn({ method: req.method, url: req.url, code: body.code }, 'database unavailable');
    } else if (body.statusCode < 500) {
      logger.debug(
        { method: req.method, url: req.url, statusCode: body.statusCode, code: body.code },
        'request refused',
      );
    }
    res.status(body.statusCode).send(body);
  }
}

/**
 * The error shape of any error: coded ones as 4xx, a lost database as 503, anything else logged and answered
 * as a 500 without internals. `method` tells a read (nothing changed) from a write (it may have been saved).
 */
export function errorBody(raised: unknown, method = 'GET'): ErrorBody {
  // Two requests racing for one unique key: the loser gets the same 409 as a plain duplicate.
  // A connection lost outside a unit of work: a read changed nothing; a write may have been saved.
  const error =
    uniqueViolationAsConflict(raised) ??
    (isConnectionLost(raised) ? (SAFE.has(method) ? databaseUnavailable() : commitOutcomeUnknown()) : raised);
  if (error instanceof DomainError) {
    return { statusCode: STATUS[error.kind], code: error.code, message: error.message, errors: error.fields };
  }
  if (error instanceof FieldValidationException) {
    return { statusCode: 400, code: 'REQUEST.INVALID', message: error.message, errors: error.fields };
  }
  // The adapter wraps Fastify's errors in an HttpException whose cause keeps Fastify's `code`.
  const parserError = ((error as { cause?: unknown } | null)?.cause ?? error) as {
    code?: unknown;
    statusCode?: number;
  } | null;
  const known = typeof parserError?.code === 'string' ? FASTIFY_ERRORS[parserError.code] : undefined;
  if (known) {
    return {
      statusCode: parserError?.statusCode ?? 400,
      code: known.code,
      message: `request ${known.field} ${known.reason}`,
      errors: [{ field: known.field, reason: known.reason }],
    };
  }
  if (error instanceof HttpException && error.getStatus() === 429) {
    return {
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: 'too many requests; slow down and retry in a minute',
      errors: [],
    };
  }
  if (error instanceof HttpException && error.getStatus() < 500) {
    const status = error.getStatus();
    return { statusCode: status, code: `HTTP.${HttpStatus[status] ?? status}`, message: error.message, errors: [] };
  }
  logger.error({ err: error }, 'unhandled error');
  return {
    statusCode: 500,
    code: 'INTERNAL',
    message: 'internal error; it has been logged — retry later or contact an admin',
    errors: [],
  };
}
