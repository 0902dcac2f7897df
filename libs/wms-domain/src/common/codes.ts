import { applyDecorators } from '@nestjs/common';
import { IsString, Matches, MaxLength } from 'class-validator';

/** A warehouse code as printed on labels: WH1, DC-EAST. */
export const IsWarehouseCode = () =>
  applyDecorators(IsString(), Matches(/^[A-Z0-9][A-Z0-9-]{0,31}$/, { message: '$property must be an upper-case warehouse code like WH1 (letters, digits, "-")' }));

/** A SKU as scanned: letters, digits, "-", "_", ".". */
export const IsSku = () =>
  applyDecorators(IsString(), MaxLength(64), Matches(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: '$property must be a SKU of letters, digits, ".", "_" or "-"' }));

/** A location code like A-01-02-03 (zone-aisle-rack-bin). */
export const IsLocationCode = () =>
  applyDecorators(IsString(), MaxLength(32), Matches(/^[A-Z0-9][A-Z0-9-]*$/, { message: '$property must be an upper-case location code like A-01-02' }));

/** Stock streams are per SKU at one location of one warehouse. */
export const stockStream = (p: { warehouseId: string; sku: string; locationCode: string }) => `${p.warehouseId}/${p.sku}/${p.locationCode}`;
