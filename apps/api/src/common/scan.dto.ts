import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsInt, IsPositive, Matches, Max, ValidateNested } from 'class-validator';

/** What a scanner reads off a label: a GTIN (check digit verified) or a SKU. */
export const IsBarcode = () =>
  Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: '$property must be a scanned GTIN or SKU' });
export const MAX_UNITS = 1_000_000;

export class ScannedLineDto {
  @ApiProperty({ example: '4006381333931' }) @IsBarcode() barcode: string;
  @ApiProperty({ example: 10 }) @IsInt() @IsPositive() @Max(MAX_UNITS) quantity: number;
}

/** A list of 1 to `max` nested items, each validated as a `type`. */
export const ListOf = (type: new () => object, max: number) =>
  applyDecorators(
    ApiProperty({ type: [type] }),
    ValidateNested({ each: true }),
    Type(() => type),
    ArrayMinSize(1),
    ArrayMaxSize(max),
  );
