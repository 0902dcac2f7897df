import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { IsStrictDateTime } from '@wms/events';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

const STATUSES = ['open', 'retried', 'discarded', 'resolved'] as const;

export class DeadLetterFilterDto {
  @ApiPropertyOptional({ enum: STATUSES }) @IsOptional() @IsIn(STATUSES) status?: (typeof STATUSES)[number];
  @ApiPropertyOptional({ example: 'event-listeners' }) @IsOptional() @IsString() @MaxLength(100) queue?: string;
  @ApiPropertyOptional({ description: 'job name: the listener, process-event, deliver, …' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  jobName?: string;
  @ApiPropertyOptional({ example: 'inventory.adjusted' }) @IsOptional() @IsString() @MaxLength(128) eventName?: string;
  @ApiPropertyOptional({ example: 'WH1' }) @IsOptional() @IsString() @MaxLength(64) warehouseId?: string;
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(/^[0-9a-f]{16}$/, { message: 'fingerprint must be 16 hex digits' })
  fingerprint?: string;
  @ApiPropertyOptional({ description: 'failed at or after', format: 'date-time' })
  @IsOptional()
  @IsStrictDateTime()
  from?: string;
  @ApiPropertyOptional({ description: 'failed before', format: 'date-time' })
  @IsOptional()
  @IsStrictDateTime()
  to?: string;
  @ApiPropertyOptional({ description: "text in the job's data or its event id: SKU, order number, part of one …" })
  @IsOptional()
  @IsString()
  @Length(2, 200)
  search?: string;
  @ApiPropertyOptional({
    description:
      "a business key of the dead letter's event (SKU, order, ASN, carton, location, lot, tracking), any case",
    example: 'SO-123',
  })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  key?: string;
}

export class DeadLetterListQuery extends DeadLetterFilterDto {
  @ApiPropertyOptional({ default: 50 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 50;
}

export class BulkRetryDto {
  @ApiProperty({ type: DeadLetterFilterDto })
  @IsDefined({ message: 'filter is required: {} with all: true retries every open dead letter' })
  @IsObject()
  @ValidateNested()
  @Type(() => DeadLetterFilterDto)
  filter: DeadLetterFilterDto;
  @ApiPropertyOptional({ description: 'only count what would be retried' }) @IsOptional() @IsBoolean() dryRun = false;
  @ApiPropertyOptional({ description: 'required to retry with an empty filter' }) @IsOptional() @IsBoolean() all =
    false;
  @ApiPropertyOptional({ default: 20, description: 'jobs re-driven per second' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  perSecond = 20;
}

export class DiscardDto {
  @ApiProperty({ example: 'order was cancelled in the ERP by hand' }) @IsString() @Length(3, 1000) reason: string;
}

export class ReplayDto {
  @ApiProperty({ description: 'occurred at or after', format: 'date-time' }) @IsStrictDateTime() from: string;
  @ApiProperty({ description: 'occurred at or before', format: 'date-time' }) @IsStrictDateTime() to: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) aggregateType?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(256) aggregateId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) warehouseId?: string;
  @ApiPropertyOptional({ description: 'one queued listener; all listeners of each event when omitted' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  listener?: string;
  @ApiPropertyOptional({ description: 'send the events to live dashboards again' })
  @IsOptional()
  @IsBoolean()
  broadcast = false;
}

export class RebuildDto {
  @ApiProperty({ description: 'events that occurred at or after this (ISO-8601)', example: '2026-11-01T00:00:00Z' })
  @IsStrictDateTime()
  from: string;
  @ApiProperty({ description: 'events that occurred before this (ISO-8601)', example: '2026-11-02T00:00:00Z' })
  @IsStrictDateTime()
  to: string;
  @ApiPropertyOptional({ description: 'reset in a transaction that is rolled back: only the counts' })
  @IsOptional()
  @IsBoolean()
  dryRun = false;
}
