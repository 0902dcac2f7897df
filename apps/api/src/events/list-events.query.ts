import { IsStrictDateTime } from '@wms/events';
import { ApiPropertyOptional } from '@nestjs/swagger';
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
  @ApiPropertyOptional({ description: 'only events after this id, oldest first (catching up after a reconnect)' })
  @IsOptional()
  @IsUUID()
  since?: string;
  @ApiPropertyOptional({ description: 'the events of one correlation chain' })
  @IsOptional()
  @IsUUID()
  correlationId?: string;
  @ApiPropertyOptional({ description: 'text in the payload or aggregate id: a SKU, an order number, a lot …' })
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
