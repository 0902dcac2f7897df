import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsStrictDate } from '@wms/events';
import { IsInt, IsOptional, IsPositive, IsString, Length, Max, Min } from 'class-validator';
import { IsCode, IsLot } from '@wms/wms-domain';
import { IsBarcode, MAX_UNITS, ListOf, ScannedLineDto } from '../common/scan.dto.js';
import { CompiledBody } from '../common/validation.pipe.js';

export class CreateAsnDto {
  @ApiProperty({ example: 'ASN-1' }) @IsCode() asnNumber: string;
  @ApiProperty({ example: 'ACME' }) @IsCode() supplierCode: string;
  @ListOf(ScannedLineDto, 500) lines: ScannedLineDto[];
}

@CompiledBody()
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
  @ApiPropertyOptional({ example: '2027-03-31', format: 'date' }) @IsOptional() @IsStrictDate() expiresOn?: string;
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
