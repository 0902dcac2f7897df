import { Injectable, ParseUUIDPipe, PipeTransform } from '@nestjs/common';
import { FieldValidationException } from './validation.pipe.js';

/** Validates a path parameter against a pattern, answering 400 naming it. */
@Injectable()
export class PathCode implements PipeTransform<string, string> {
  constructor(
    private readonly field: string,
    private readonly pattern = /^[A-Z0-9][A-Z0-9-]{0,31}$/,
    private readonly reason = 'must be an upper-case code of letters, digits and "-"',
  ) {}

  transform(value: string): string {
    if (!this.pattern.test(value)) throw new FieldValidationException([{ field: this.field, reason: this.reason }]);
    return value;
  }
}

export const WarehouseParam = new PathCode('warehouseId');
export const SkuParam = new PathCode(
  'sku',
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  'must be a SKU of letters, digits, ".", "_" or "-"',
);
export const TaskIdParam = new PathCode(
  'taskId',
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  'must be a pick task id (UUID)',
);

/** An `:id` path parameter that must be a UUID (400 naming `id` otherwise). */
export const IdParam = new ParseUUIDPipe({
  exceptionFactory: () => new FieldValidationException([{ field: 'id', reason: 'must be a UUID' }]),
});

/** The `:number` of an ASN or an order. */
export const NumberParam = new PathCode('number');

/** The `:listener` of a queued listener's admin routes: its name, as in `@QueuedListener({ name })`. */
export const ListenerParam = new PathCode(
  'listener',
  /^[a-z0-9][a-z0-9._-]{0,199}$/,
  'must be a listener name of lower-case letters, digits, ".", "_" or "-"',
);
