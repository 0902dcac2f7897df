import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsPositive, Max, Min, NotEquals } from 'class-validator';
import { ADJUSTMENT_REASONS, type AdjustmentReason, IsCode, IsLot, IsSku } from '@wms/wms-domain';
import { IsBarcode, MAX_UNITS } from '../common/scan.dto.js';
import { CompiledBody } from '../common/validation.pipe.js';

@CompiledBody()
export class AdjustDto {
  @ApiProperty() @IsBarcode() barcode: string;
  @ApiProperty() @IsCode() locationCode: string;
  @ApiPropertyOptional() @IsOptional() @IsLot() lot?: string;
  @ApiProperty({ example: -2, description: 'signed change in units, never 0' })
  @IsInt()
  @NotEquals(0)
  @Min(-MAX_UNITS)
  @Max(MAX_UNITS)
  quantityDelta: number;
  @ApiProperty({ enum: ADJUSTMENT_REASONS }) @IsIn(ADJUSTMENT_REASONS) reasonCode: AdjustmentReason;
}

@CompiledBody()
export class CountDto {
  @ApiProperty() @IsBarcode() barcode: string;
  @ApiProperty() @IsCode() locationCode: string;
  @ApiPropertyOptional() @IsOptional() @IsLot() lot?: string;
  @ApiProperty({ example: 12 }) @IsInt() @Min(0) @Max(MAX_UNITS) counted: number;
}

export class StockQuery {
  @ApiPropertyOptional() @IsOptional() @IsSku() sku?: string;
  @ApiPropertyOptional() @IsOptional() @IsCode() locationCode?: string;
}

@CompiledBody()
export class MoveDto {
  @ApiProperty() @IsBarcode() barcode: string;
  @ApiProperty({ example: 'DOCK-1' }) @IsCode() fromLocation: string;
  @ApiProperty({ example: 'A-01-01' }) @IsCode() toLocation: string;
  @ApiProperty() @IsInt() @IsPositive() @Max(MAX_UNITS) quantity: number;
  @ApiPropertyOptional() @IsOptional() @IsLot() lot?: string;
}
