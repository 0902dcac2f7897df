import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsCartonWeight, IsCode } from '@wms/wms-domain';
import { IsBarcode, MAX_UNITS, ListOf, ScannedLineDto } from '../common/scan.dto.js';
import { CompiledBody } from '../common/validation.pipe.js';

export class CreateOrderDto {
  @ApiProperty({ example: 'SO-1001' }) @IsCode() orderNumber: string;
  @ApiProperty({ example: 'SHOP-1' }) @IsCode() customerCode: string;
  @ListOf(ScannedLineDto, 500) lines: ScannedLineDto[];
}

@CompiledBody()
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
  @ApiPropertyOptional({ example: 2.5, minimum: 0.001, maximum: 10_000, description: 'kilograms, whole grams' })
  @IsOptional()
  @IsCartonWeight()
  weightKg?: number;
}

export class PackDto {
  @ListOf(CartonDto, 200) cartons: CartonDto[];
}

export class ShipDto {
  @ApiProperty({ example: 'DHL' }) @IsCode() carrierCode: string;
  @ApiProperty({ example: 'JD0002212345' }) @IsString() @Length(1, 64) trackingNumber: string;
}

export class CancelOrderDto {
  @ApiProperty({ example: 'customer cancelled' }) @IsString() @Length(1, 500) reason: string;
}
