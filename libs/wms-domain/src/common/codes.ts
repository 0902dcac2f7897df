import { applyDecorators } from '@nestjs/common';
import { IsString, Matches, MaxLength, type ValidationOptions } from 'class-validator';

/** A warehouse code as printed on labels: WH1, DC-EAST. */
export const IsWarehouseCode = (options: ValidationOptions = {}) =>
  applyDecorators(
    IsString(options),
    Matches(/^[A-Z0-9][A-Z0-9-]{0,31}$/, {
      message: '$property must be an upper-case warehouse code like WH1 (letters, digits, "-")',
      ...options,
    }),
  );

/** A SKU: letters, digits, "-", "_", ".". */
export const IsSku = () =>
  applyDecorators(
    IsString(),
    MaxLength(64),
    Matches(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: '$property must be a SKU of letters, digits, ".", "_" or "-"' }),
  );

/** A location, zone, partner, order or ASN code: upper-case letters, digits and "-", like A-01-02. */
export const IsCode = () =>
  applyDecorators(
    IsString(),
    MaxLength(32),
    Matches(/^[A-Z0-9][A-Z0-9-]*$/, {
      message: '$property must be an upper-case code like A-01-02 (letters, digits, "-")',
    }),
  );

/** Lots as printed by suppliers; '' means "no lot". */
export const IsLot = () =>
  applyDecorators(
    IsString(),
    MaxLength(64),
    Matches(/^[A-Za-z0-9._-]*$/, { message: '$property must be a lot of letters, digits, ".", "_" or "-"' }),
  );

/** Stock streams are per SKU at one location of one warehouse. */
export const stockStream = (p: { warehouseId: string; sku: string; locationCode: string }) =>
  `${p.warehouseId}/${p.sku}/${p.locationCode}`;
export const orderStream = (p: { warehouseId: string; orderNumber: string }) => `${p.warehouseId}/${p.orderNumber}`;
export const locationStream = (p: { warehouseId: string; locationCode: string }) =>
  `${p.warehouseId}/${p.locationCode}`;
