import { IsStrictDateTime } from '@wms/events';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

export class ListEventsQuery {
  @ApiPropertyOptional({ example: 'inventory.adjusted' }) @IsOptional() @IsString() @MaxLength(128) name?: string;
  @ApiPropertyOptional({ example: 'stock' }) @IsOptional() @IsString() @MaxLength(64) aggregateType?: string;
  @ApiPropertyOptional({ example: 'WH1/SKU-1/A-01-01' }) @IsOptional() @IsString() @MaxLength(256) aggregateId?: string;
  @ApiPropertyOptional({ example: 'WH1' }) @IsOptional() @IsString() @MaxLength(64) warehouseId?: string;
  @ApiPropertyOptional({ description: 'occurredAt ≥ from (ISO-8601 date-time)', format: 'date-time' })
  @IsOptional()
  @IsStrictDateTime()
  from?: string;
  @ApiPropertyOptional({ description: 'occurredAt < to (ISO-8601 date-time, not before from)', format: 'date-time' })
  @IsOptional()
  @IsStrictDateTime()
  to?: string;
  @ApiPropertyOptional({ description: 'nextCursor of the previous page' }) @IsOptional() @IsUUID() cursor?: string;
  @ApiPropertyOptional({ description: 'the events of one correlation chain' })
  @IsOptional()
  @IsUUID()
  correlationId?: string;
  @ApiPropertyOptional({
    description:
      'a business key, any case: SKU, order number, ASN number, carton, location, lot or tracking number (the ' +
      "catalog lists each event type's keys); read from an index over any range",
    example: 'SO-123',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  key?: string;
  @ApiPropertyOptional({
    description:
      'text anywhere in the payload or aggregate id, for what is not a key: reads at most 24 hours of occurredAt ' +
      '(the last 24 hours without from/to); the answer says which window in textWindow',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  text?: string;
  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit = 50;
}

export class CatchUpQuery {
  @ApiProperty({
    description:
      'the cursor of the previous page, or `now` to start from this moment; pages go in the order events were ' +
      'stored, so an event accepted earlier but stored later is never skipped',
    example: 'now',
  })
  @IsString()
  @MaxLength(120)
  after: string;
  @ApiPropertyOptional({ example: 'WH1', description: 'only this warehouse (one of yours)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  warehouseId?: string;
  @ApiPropertyOptional({ default: 100, maximum: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit = 100;
}
