import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsStrictDateTime } from '@wms/events';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { CompiledBody } from '../common/validation.pipe.js';

@CompiledBody()
export class PublishEventDto {
  @ApiProperty({ example: 'carrier.tracking_updated', description: 'an integration event from GET /event-types' })
  @IsString()
  @Matches(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, {
    message: 'name must be a dotted event name like inventory.adjusted',
  })
  name: string;

  @ApiPropertyOptional({ example: 1, description: 'defaults to the latest version of the event type' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  version?: number;

  @ApiProperty({
    example: {
      warehouseId: 'WH1',
      orderNumber: 'SO-1001',
      carrierCode: 'DHL',
      trackingNumber: 'JD014600003',
      status: 'in_transit',
    },
  })
  @IsObject()
  payload: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'when it happened, if not now (ISO-8601 date-time): at most OFFLINE_ACCEPT_DAYS ago, 24 h ahead',
    format: 'date-time',
  })
  @IsOptional()
  @IsStrictDateTime()
  occurredAt?: string;

  @ApiPropertyOptional({ description: 'ties this event to the events that follow from one request' })
  @IsOptional()
  @IsUUID()
  correlationId?: string;

  @ApiPropertyOptional({ description: 'the event that caused this one' })
  @IsOptional()
  @IsUUID()
  causationId?: string;
}

export class AcceptedEventDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() version: number;
  @ApiProperty() aggregateType: string;
  @ApiProperty() aggregateId: string;
  @ApiProperty() streamPosition: number;
  @ApiProperty() recordedAt: string;
}

/** The most events one POST /events/batch takes. */
export const BATCH_MAX_ITEMS = 500;
/** POST /events/batch's own body limit; every other route keeps BODY_LIMIT. */
export const BATCH_BODY_LIMIT = 1024 * 1024;
export const BATCH_PATH = '/events/batch';

/** One item of POST /events/batch: what POST /events takes, with the item's own idempotency key. */
export class PublishBatchItemDto extends PublishEventDto {
  @ApiPropertyOptional({
    example: 'erp-4711-line-3',
    description: 'a resend of this item with the same key and body answers `replayed` and stores nothing new',
  })
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,128}$/, { message: 'idempotencyKey must be 1-128 visible ASCII characters' })
  idempotencyKey?: string;
}

@CompiledBody()
export class PublishBatchDto {
  /** Checked item by item by the handler (one bad item is answered on its own), not by the pipe. */
  static readonly validatedPerItem = ['items'];

  @ApiProperty({ type: [PublishBatchItemDto], minItems: 1, maxItems: BATCH_MAX_ITEMS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BATCH_MAX_ITEMS)
  items: unknown[];
}

export class BatchFieldDto {
  @ApiProperty({ example: 'items[3].payload.trackingNumber' }) field: string;
  @ApiProperty({ example: 'trackingNumber must be longer than or equal to 1 characters' }) reason: string;
}

export class BatchItemErrorDto {
  @ApiProperty({ example: 'EVENTS.INVALID_PAYLOAD' }) code: string;
  @ApiProperty() message: string;
  @ApiProperty({ type: [BatchFieldDto] }) fields: BatchFieldDto[];
}

export class BatchItemResultDto {
  @ApiProperty({ enum: ['accepted', 'replayed', 'refused'] }) status: 'accepted' | 'replayed' | 'refused';
  @ApiPropertyOptional({ description: 'the event id (accepted, replayed)' }) id?: string;
  @ApiPropertyOptional({ type: BatchItemErrorDto, description: 'why the item was refused' }) error?: BatchItemErrorDto;
}

export class PublishBatchResultDto {
  @ApiProperty({ type: [BatchItemResultDto], description: 'one result per item, in the order of the items' })
  results: BatchItemResultDto[];
}
