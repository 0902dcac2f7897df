import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, IsTimeZone, Length, Matches, Max, Min } from 'class-validator';
import { IsCode, IsSku, IsWarehouseCode, UNITS_OF_MEASURE, type UnitOfMeasure } from '@wms/wms-domain';
import { MAX_UNITS } from '../common/scan.dto.js';

export class CreateWarehouseDto {
  @ApiProperty({ example: 'WH1' }) @IsWarehouseCode() code: string;
  @ApiProperty({ example: 'Main DC' }) @IsString() @Length(1, 200) name: string;
  @ApiPropertyOptional({ example: 'Europe/Amsterdam', description: 'an IANA time zone' })
  @IsOptional()
  @IsTimeZone({ message: 'timeZone must be an IANA time zone, like Europe/Amsterdam' })
  timeZone?: string;
}

export class CreateZoneDto {
  @ApiProperty({ example: 'A' }) @IsCode() code: string;
  @ApiProperty({ example: 'Ambient racking' }) @IsString() @Length(1, 200) name: string;
}

export class CreateLocationDto {
  @ApiProperty({ example: 'A-01-01' }) @IsCode() code: string;
  @ApiProperty({ example: 'A' }) @IsCode() zoneCode: string;
  @ApiPropertyOptional({ example: 500, description: 'units the location holds; none = unlimited' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_UNITS)
  capacity?: number;
}

export class BlockLocationDto {
  @ApiProperty({ example: 'rack damaged' }) @IsString() @Length(1, 500) reason: string;
}

export class CreateProductDto {
  @ApiProperty({ example: 'SKU-1001' }) @IsSku() sku: string;
  @ApiProperty({ example: '4006381333931' })
  @Matches(/^(\d{8}|\d{12,14})$/, { message: 'gtin must be 8, 12, 13 or 14 digits' })
  gtin: string;
  @ApiProperty({ example: 'Ballpoint pen, blue' }) @IsString() @Length(1, 200) name: string;
  @ApiProperty({ enum: UNITS_OF_MEASURE }) @IsIn(UNITS_OF_MEASURE) unitOfMeasure: UnitOfMeasure;
  @ApiPropertyOptional({ example: 20 }) @IsOptional() @IsInt() @Min(0) @Max(MAX_UNITS) reorderPoint?: number;
  @ApiPropertyOptional({ example: 500 }) @IsOptional() @IsInt() @Min(1) @Max(MAX_UNITS) maxLevel?: number;
}

export class UpdateProductDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 200) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(MAX_UNITS) reorderPoint?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(1) @Max(MAX_UNITS) maxLevel?: number;
}

export class DiscontinueProductDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 500) reason?: string;
}

export class CreatePartnerDto {
  @ApiProperty({ example: 'ACME' }) @IsCode() code: string;
  @ApiProperty({ example: 'Acme Ltd' }) @IsString() @Length(1, 200) name: string;
}
