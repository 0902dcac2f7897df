import { ValidationError, ValidationPipe } from '@nestjs/common';
import type { FieldProblem } from '@wms/events';

export class FieldValidationException extends Error {
  constructor(readonly fields: FieldProblem[]) {
    super(`invalid request: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`);
  }
}

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    return [
      ...Object.values(e.constraints ?? {}).map((reason) => ({ field, reason })),
      ...flatten(e.children ?? [], field),
    ];
  });
}

/** The global pipe: unknown fields are refused, and every error names its field. */
export const validationPipe = () =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new FieldValidationException(flatten(errors)),
  });
