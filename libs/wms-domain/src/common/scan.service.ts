import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { StockKey } from '../inventory/stock.repository.js';
import { type LocationRow, MasterDataRepository, type ProductRow } from '../master-data/master-data.repository.js';

/** What a scanner reads at a location: a barcode, the location label, and the lot if it has one. */
export interface LocationScan {
  barcode: string;
  locationCode: string;
  lot?: string;
}

export interface ScannedStock {
  product: ProductRow;
  location: LocationRow;
  key: StockKey;
}

/** The preamble of every scan at a location: warehouse → barcode → location → stock key. */
@Injectable()
export class ScanService {
  constructor(private readonly masterData: MasterDataRepository) {}

  /**
   * Checks, in this order, that the warehouse exists, the barcode names a product (an active one when
   * `activeOnly`) and the location exists (and is not blocked when `usable`), and names the stock row.
   */
  async stockAt(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    scan: LocationScan,
    options: { usable?: boolean; activeOnly?: boolean } = {},
  ): Promise<ScannedStock> {
    await this.masterData.warehouse(m, tenantId, warehouseId);
    const product = await this.masterData.productByBarcode(m, tenantId, scan.barcode, 'barcode', options.activeOnly);
    const location = await this.masterData.location(
      m,
      tenantId,
      warehouseId,
      scan.locationCode,
      'locationCode',
      options.usable,
    );
    const key = { tenantId, warehouseId, sku: product.sku, locationCode: scan.locationCode, lot: scan.lot ?? '' };
    return { product, location, key };
  }
}
