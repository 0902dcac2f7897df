import type { EntityManager } from 'typeorm';
import { conflict, invalid, notFound } from './command-context.js';

const GTIN = /^(\d{8}|\d{12}|\d{13}|\d{14})$/;

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

export interface ProductRow {
  sku: string;
  gtin: string;
  reorder_point: number;
  discontinued_at: Date | null;
}

/**
 * The product a scanned barcode names: a GTIN (8/12/13/14 digits, check digit verified) or a SKU.
 * `activeOnly` refuses discontinued products (receiving, ordering).
 */
export async function productByBarcode(
  m: EntityManager,
  tenantId: string,
  barcode: string,
  field: string,
  activeOnly = false,
): Promise<ProductRow> {
  const isGtin = GTIN.test(barcode);
  if (isGtin) assertGtin(barcode, field);
  const [row] = await m.query(
    `SELECT sku, gtin, reorder_point, discontinued_at FROM products WHERE tenant_id = $1 AND ${isGtin ? 'gtin' : 'sku'} = $2`,
    [tenantId, barcode],
  );
  if (!row)
    throw notFound(
      'PRODUCT.UNKNOWN_BARCODE',
      `no product has the barcode ${barcode}; check the label or create the product first`,
      field,
    );
  if (activeOnly && row.discontinued_at)
    throw conflict('PRODUCT.DISCONTINUED', `product ${row.sku} is discontinued`, field);
  return row;
}
