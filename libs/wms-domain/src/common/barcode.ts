import { applyDecorators } from '@nestjs/common';
import { schemaRule } from '@wms/events';
import { Matches } from 'class-validator';
import { invalid } from './command-context.js';

/** A scanned barcode of 8, 12, 13 or 14 digits is a GTIN; anything else is read as a SKU. */
export const GTIN = /^(\d{8}|\d{12}|\d{13}|\d{14})$/;

/** GS1 mod-10 check digit: weights 3,1,3,… from the right, excluding the check digit. */
export function gtinCheckDigitValid(gtin: string): boolean {
  const digits = gtin.split('').map(Number);
  const check = digits.pop()!;
  const sum = digits.reverse().reduce((acc, d, i) => acc + d * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === check;
}

/** Throws PRODUCT.INVALID_GTIN when a GTIN's check digit is wrong. */
export function assertGtin(gtin: string, field: string): void {
  if (!GTIN.test(gtin) || !gtinCheckDigitValid(gtin)) {
    throw invalid(
      'PRODUCT.INVALID_GTIN',
      `${gtin} is not a valid GTIN: wrong length or check digit; rescan the barcode`,
      field,
    );
  }
}

const GtinCheckDigit = schemaRule(
  'gtinCheckDigit',
  (value) => typeof value === 'string' && GTIN.test(value) && gtinCheckDigitValid(value),
  '$property must end in the right GS1 check digit',
);

/** class-validator (and the compiled payload schemas): a GTIN of 8, 12, 13 or 14 digits with a right check digit. */
export const IsGtin = () =>
  applyDecorators(
    Matches(/^(\d{8}|\d{12,14})$/, { message: '$property must be a GTIN of 8, 12, 13 or 14 digits' }),
    GtinCheckDigit(),
  );
