import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  NotEquals,
  ValidateNested,
} from 'class-validator';
import { ADJUSTMENT_REASONS, IsCode, IsLot, IsSku, IsWarehouseCode, UNITS_OF_MEASURE } from '@wms/wms-domain';
import type { AdjustmentReason, UnitOfMeasure } from '@wms/wms-domain';

/** What a scanner reads off a label: a GTIN (check digit verified) or a SKU. */
const IsBarcode = () => Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: '$property must be a scanned GTIN or SKU' });
const MAX_UNITS = 1_000_000;

// ── master data ──────────────────────────────────────────────────────────────
export class CreateWarehouseDto {
  @ApiProperty({ example: 'WH1' }) @IsWarehouseCode() code: string;
  @ApiProperty({ example: 'Main DC' }) @IsString() @Length(1, 200) name: string;
  @ApiPropertyOptional({ example: 'Europe/Amsterdam' }) @IsOptional() @IsString() @Length(1, 64) timeZone?: string;
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

// ── inbound ──────────────────────────────────────────────────────────────────
export class ScannedLineDto {
  @ApiProperty({ example: '4006381333931' }) @IsBarcode() barcode: string;
  @ApiProperty({ example: 10 }) @IsInt() @IsPositive() @Max(MAX_UNITS) quantity: number;
}

export class CreateAsnDto {
  @ApiProperty({ example: 'ASN-1' }) @IsCode() asnNumber: string;
  @ApiProperty({ example: 'ACME' }) @IsCode() supplierCode: string;
  @ApiProperty({ type: [ScannedLineDto] })
  @ValidateNested({ each: true })
  @Type(() => ScannedLineDto)
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  lines: ScannedLineDto[];
}

export class ReceiveDto {
  @ApiProperty({ example: '4006381333931' }) @IsBarcode() barcode: string;
  @ApiProperty({ example: 'DOCK-1' }) @IsCode() locationCode: string;
  @ApiProperty({ example: 10, description: 'good units' }) @IsInt() @Min(0) @Max(MAX_UNITS) quantity: number;
  @ApiPropertyOptional({ example: 0, description: 'damaged units (not stocked)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_UNITS)
  damaged?: number;
  @ApiPropertyOptional({ example: 'ASN-1' }) @IsOptional() @IsCode() asnNumber?: string;
  @ApiPropertyOptional({ example: 'L2026-11' }) @IsOptional() @IsLot() lot?: string;
  @ApiPropertyOptional({ example: '2027-03-31' }) @IsOptional() @IsISO8601({ strict: true }) expiresOn?: string;
}

export class HoldDto {
  @ApiProperty() @IsBarcode() barcode: string;
  @ApiProperty() @IsCode() locationCode: string;
  @ApiPropertyOptional() @IsOptional() @IsLot() lot?: string;
  @ApiProperty() @IsInt() @IsPositive() @Max(MAX_UNITS) quantity: number;
  @ApiProperty({ example: 'packaging wet' }) @IsString() @Length(1, 500) reason: string;
}

export class ReleaseHoldDto {
  @ApiProperty() @IsBarcode() barcode: string;
  @ApiProperty() @IsCode() locationCode: string;
  @ApiPropertyOptional() @IsOptional() @IsLot() lot?: string;
  @ApiProperty() @IsInt() @IsPositive() @Max(MAX_UNITS) quantity: number;
}

export class MoveDto {
  @ApiProperty() @IsBarcode() barcode: string;
  @ApiProperty({ example: 'DOCK-1' }) @IsCode() fromLocation: string;
  @ApiProperty({ example: 'A-01-01' }) @IsCode() toLocation: string;
  @ApiProperty() @IsInt() @IsPositive() @Max(MAX_UNITS) quantity: number;
  @ApiPropertyOptional() @IsOptional() @IsLot() lot?: string;
}

// ── inventory ────────────────────────────────────────────────────────────────
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

// ── outbound ─────────────────────────────────────────────────────────────────
export class CreateOrderDto {
  @ApiProperty({ example: 'SO-1001' }) @IsCode() orderNumber: string;
  @ApiProperty({ example: 'SHOP-1' }) @IsCode() customerCode: string;
  @ApiProperty({ type: [ScannedLineDto] })
  @ValidateNested({ each: true })
  @Type(() => ScannedLineDto)
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  lines: ScannedLineDto[];
}

export class ConfirmPickDto {
  @ApiProperty({ example: 'A-01-01' }) @IsCode() locationCode: string;
  @ApiProperty() @IsBarcode() barcode: string;
  @ApiProperty({ description: 'units picked; fewer than the task asks is a short pick' })
  @IsInt()
  @Min(0)
  @Max(MAX_UNITS)
  quantity: number;
}

export class CartonDto {
  @ApiProperty({ example: 'CTN-1' })
  @IsString()
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'cartonId must be letters, digits, ".", "_" or "-"' })
  cartonId: string;
  @ApiPropertyOptional({ example: 2.5 }) @IsOptional() @IsNumber() @IsPositive() @Max(10_000) weightKg?: number;
}

export class PackDto {
  @ApiProperty({ type: [CartonDto] })
  @ValidateNested({ each: true })
  @Type(() => CartonDto)
  @ArrayMinSize(1)
  @ArrayMaxSize(200)
  cartons: CartonDto[];
}

export class ShipDto {
  @ApiProperty({ example: 'DHL' }) @IsCode() carrierCode: string;
  @ApiProperty({ example: 'JD0002212345' }) @IsString() @Length(1, 64) trackingNumber: string;
}

export class CancelOrderDto {
  @ApiProperty({ example: 'customer cancelled' }) @IsString() @Length(1, 500) reason: string;
}
