import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { DomainError, ErrorKind } from '@wms/events';
import type { Request, Response } from 'express';
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
};

/** Body-parser errors carry `type` and `status`; map them to the same error shape. */
const BODY_PARSER_ERRORS: Record<string, { code: string; field: string; reason: string }> = {
  'entity.parse.failed': { code: 'REQUEST.MALFORMED_JSON', field: 'body', reason: 'is not valid JSON' },
  'entity.too.large': { code: 'REQUEST.TOO_LARGE', field: 'body', reason: 'is larger than the allowed size' },
  'encoding.unsupported': {
    code: 'REQUEST.UNSUPPORTED_ENCODING',
    field: 'body',
    reason: 'uses an unsupported encoding',
  },
};

/** Maps coded domain errors and validation failures to 4xx; anything else is logged and becomes a 500 without internals. */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(DomainErrorFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const res = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(error);
    if (body.statusCode < 500) {
      const req = host.switchToHttp().getRequest<Request>();
      this.logger.debug(
        { method: req.method, url: req.url, statusCode: body.statusCode, code: body.code },
        'request refused',
      );
    }
    res.status(body.statusCode).json(body);
  }

  private toBody(error: unknown): ErrorBody {
    if (error instanceof DomainError) {
      return { statusCode: STATUS[error.kind], code: error.code, message: error.message, errors: error.fields };
    }
    if (error instanceof FieldValidationException) {
      return { statusCode: 400, code: 'REQUEST.INVALID', message: error.message, errors: error.fields };
    }
    // Express wraps body-parser's errors in an HttpException whose cause keeps the parser's `type`.
    const parserError = ((error as { cause?: unknown }).cause ?? error) as { type?: string; status?: number };
    const known = parserError.type ? BODY_PARSER_ERRORS[parserError.type] : undefined;
    if (known) {
      return {
        statusCode: parserError.status ?? 400,
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
    this.logger.error({ err: error }, 'unhandled error');
    return {
      statusCode: 500,
      code: 'INTERNAL',
      message: 'internal error; it has been logged — retry later or contact an admin',
      errors: [],
    };
  }
}
