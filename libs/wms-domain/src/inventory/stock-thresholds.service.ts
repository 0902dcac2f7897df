import { Injectable } from '@nestjs/common';
import type { EventTransaction, PublishContext } from '@wms/events';
import { MasterDataRepository } from '../master-data/master-data.repository.js';
import { StockRepository } from './stock.repository.js';

/**
 * Publishes inventory.low_stock / inventory.out_of_stock when a command takes a SKU's available units in
 * a warehouse across its reorder point or to zero — once per crossing, not on every change below it.
 */
@Injectable()
export class StockThresholdsService {
  constructor(
    private readonly stock: StockRepository,
    private readonly masterData: MasterDataRepository,
  ) {}

  async publishCrossings(
    tx: EventTransaction,
    ctx: PublishContext,
    warehouseId: string,
    sku: string,
    availableBefore: number,
  ): Promise<void> {
    const after = await this.stock.available(tx.manager, ctx.tenantId, warehouseId, sku);
    if (after >= availableBefore) return;
    if (after === 0) {
      await tx.publish('inventory.out_of_stock', { warehouseId, sku }, ctx);
      return;
    }
    const reorderPoint = await this.masterData.reorderPoint(tx.manager, ctx.tenantId, sku);
    if (availableBefore > reorderPoint && after <= reorderPoint) {
      await tx.publish('inventory.low_stock', { warehouseId, sku, available: after, reorderPoint }, ctx);
    }
  }
}
