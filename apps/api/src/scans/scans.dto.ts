import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ConfirmPickDto } from '../outbound/outbound.dto.js';
import { ListOf } from '../common/scan.dto.js';
import { IDEMPOTENCY_KEY } from '../common/request-context.js';

export const SCAN_OPERATIONS = ['adjust', 'move', 'receive', 'putaway', 'pick'] as const;
export type ScanOperation = (typeof SCAN_OPERATIONS)[number];
export const MAX_BATCH_SCANS = 500;

/** One scan a handheld queued while it was offline. Its `body` is validated as the operation's own route validates it. */
export class QueuedScanDto {
  @ApiProperty({ enum: SCAN_OPERATIONS, example: 'adjust' }) @IsIn(SCAN_OPERATIONS) operation: ScanOperation;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'the body of the operation’s own route: adjust = POST …/adjustments, move = …/moves, receive = …/receipts, ' +
      'putaway = …/putaways, pick = …/picks/:taskId plus `taskId`',
    example: { barcode: '4006381333931', locationCode: 'A-01', quantityDelta: -1, reasonCode: 'damaged' },
  })
  @IsObject()
  body: Record<string, unknown>;
  @ApiProperty({
    description: 'the scan’s own Idempotency-Key: a resend of the queue replays it',
    example: 'scan-0001',
  })
  @Matches(IDEMPOTENCY_KEY, { message: '$property must be 1-128 visible ASCII characters' })
  idempotencyKey: string;
  @ApiProperty({
    description: 'when it was scanned (ISO-8601 with offset): the events’ occurredAt; at most OFFLINE_ACCEPT_DAYS old',
    example: '2026-12-01T09:30:00Z',
  })
  @IsString()
  @MaxLength(64)
  scannedAt: string;
}

export class ScanBatchDto {
  @ListOf(QueuedScanDto, MAX_BATCH_SCANS) items: QueuedScanDto[];
  @ApiPropertyOptional({ description: 'after the first refused scan, skip the rest (default: apply every scan)' })
  @IsOptional()
  @IsBoolean()
  stopOnError?: boolean;
}

/** A pick's body in a batch: the route's body and the task its path names. */
export class PickScanDto extends ConfirmPickDto {
  @ApiProperty()
  @Matches(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    message: '$property must be a pick task id (UUID)',
  })
  taskId: string;
}
