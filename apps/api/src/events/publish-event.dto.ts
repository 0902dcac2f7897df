import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsStrictDateTime } from '@wms/events';
import { IsInt, IsObject, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';

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
