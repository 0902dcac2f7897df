import { Injectable } from '@nestjs/common';
import { acceptOccurredAt, EventsConfig, type FieldProblem, type TransactionResult } from '@wms/events';
import { type CommandContext, InboundService, InventoryService, OutboundService } from '@wms/wms-domain';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { errorBody } from '../common/domain-error.filter.js';
import { AdjustDto, MoveDto } from '../inventory/inventory.dto.js';
import { ReceiveDto } from '../inbound/inbound.dto.js';
import { PickScanDto, type QueuedScanDto, type ScanBatchDto, type ScanOperation } from './scans.dto.js';

export type ScanAnswer =
  | { index: number; status: 'applied'; result: unknown; eventIds: string[] }
  | { index: number; status: 'replayed'; result: unknown }
  | { index: number; status: 'refused'; code: string; message: string; errors: FieldProblem[] }
  | { index: number; status: 'skipped' };

export interface ScanBatchAnswer {
  applied: number;
  replayed: number;
  refused: number;
  skipped: number;
  items: ScanAnswer[];
}

type Body = object;
// The body's type is its operation's DTO, which the entry's `dto` validated it as.
type Run<B> = (s: ScanBatchService, ctx: CommandContext, wh: string, body: B) => Promise<TransactionResult<unknown>>;
const operation = <B extends Body>(dto: new () => B, run: Run<B>) => ({ dto, run: run as Run<Body> });
/** Each operation: the DTO its own route validates the body with, and the command that route runs. */
const OPERATIONS: Record<ScanOperation, { dto: new () => Body; run: Run<Body> }> = {
  adjust: operation(AdjustDto, (s, ctx, wh, body) => s.inventory.adjust(ctx, wh, body)),
  move: operation(MoveDto, (s, ctx, wh, body) => s.inventory.move(ctx, wh, body)),
  receive: operation(ReceiveDto, (s, ctx, wh, body) => s.inbound.receive(ctx, wh, body)),
  putaway: operation(MoveDto, (s, ctx, wh, body) => s.inbound.putaway(ctx, wh, body)),
  pick: operation(PickScanDto, (s, ctx, wh, { taskId, ...body }) => s.outbound.confirmPick(ctx, wh, taskId, body)),
};

/** As the global ValidationPipe flattens them, each field under `prefix`. */
function problems(errors: ValidationError[], prefix: string): FieldProblem[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((reason) => ({ field: `${prefix}.${e.property}`, reason })),
    ...problems(e.children ?? [], `${prefix}.${e.property}`),
  ]);
}

class Refused extends Error {
  constructor(
    readonly code: string,
    readonly errors: FieldProblem[],
    message: string,
  ) {
    super(message);
  }
}

/**
 * Offline scanner sync: the scans a handheld queued, applied in their order, each as its own route would apply it
 * (same validation, same command, its own Idempotency-Key and transaction) with its scan time as the events'
 * occurredAt. One refused scan refuses only itself unless the client asked `stopOnError`; sending the same queue
 * again replays every scan and changes nothing.
 */
@Injectable()
export class ScanBatchService {
  constructor(
    readonly inventory: InventoryService,
    readonly inbound: InboundService,
    readonly outbound: OutboundService,
    private readonly config: EventsConfig,
  ) {}

  async apply(ctx: CommandContext, warehouseId: string, batch: ScanBatchDto): Promise<ScanBatchAnswer> {
    const items: ScanAnswer[] = [];
    let stopped = false;
    for (const [index, scan] of batch.items.entries()) {
      if (stopped) {
        items.push({ index, status: 'skipped' });
        continue;
      }
      const answer = await this.applyOne(ctx, warehouseId, scan, index);
      items.push(answer);
      if (answer.status === 'refused' && batch.stopOnError) stopped = true;
    }
    const count = (status: ScanAnswer['status']) => items.filter((i) => i.status === status).length;
    return {
      applied: count('applied'),
      replayed: count('replayed'),
      refused: count('refused'),
      skipped: count('skipped'),
      items,
    };
  }

  private async applyOne(ctx: CommandContext, warehouseId: string, scan: QueuedScanDto, index: number) {
    const at = `items[${index}]`;
    try {
      const operation = OPERATIONS[scan.operation];
      const body = await this.validBody(operation.dto, scan.body, `${at}.body`);
      const occurredAt = acceptOccurredAt(scan.scannedAt, this.config, `${at}.scannedAt`);
      const done = await operation.run(
        this,
        { ...ctx, idempotencyKey: scan.idempotencyKey, occurredAt },
        warehouseId,
        body,
      );
      return done.replayed
        ? { index, status: 'replayed' as const, result: done.result }
        : { index, status: 'applied' as const, result: done.result, eventIds: done.eventIds };
    } catch (error) {
      if (error instanceof Refused) return { index, status: 'refused' as const, ...error, message: error.message };
      const body = errorBody(error, 'POST');
      // The database is unavailable or the outcome is unknown: the whole batch answers so, and its resend is safe.
      if (body.statusCode >= 500) throw error;
      const field = (f: string) =>
        f.startsWith(`${at}.`)
          ? f
          : f === 'Idempotency-Key'
            ? `${at}.idempotencyKey`
            : f === 'occurredAt'
              ? `${at}.scannedAt`
              : `${at}.body.${f}`;
      return {
        index,
        status: 'refused' as const,
        code: body.code,
        message: body.message,
        errors: body.errors.map((e) => ({ ...e, field: field(e.field) })),
      };
    }
  }

  /** The body as its route's ValidationPipe takes it: unknown fields refused, every error naming its field. */
  private async validBody(dto: new () => Body, body: Record<string, unknown>, prefix: string): Promise<Body> {
    const instance = plainToInstance(dto, body);
    const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length) {
      const fields = problems(errors, prefix);
      throw new Refused(
        'REQUEST.INVALID',
        fields,
        `invalid scan: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`,
      );
    }
    return instance;
  }
}
