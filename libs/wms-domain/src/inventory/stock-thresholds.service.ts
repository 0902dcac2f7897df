import { Injectable } from '@nestjs/common';
import type { EventTransaction, PublishContext, StatementEvent } from '@wms/events';
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

  /**
   * The same crossings for a statement command whose `outcome` has the SKU's available units `before` and `after`
   * the change and its `reorder_point` (as StockRepository.adjustment reads them at write time).
   */
  crossings(where: { warehouseId: string; sku: string }): StatementEvent[] {
    return [
      { name: 'inventory.out_of_stock', payload: where, when: 'outcome.after < outcome.before AND outcome.after = 0' },
      {
        name: 'inventory.low_stock',
        // Placeholders of the right type; the statement writes the figures it read.
        payload: { ...where, available: 0, reorderPoint: 0 },
        when:
          'outcome.after < outcome.before AND outcome.after > 0 ' +
          'AND outcome.before > outcome.reorder_point AND outcome.after <= outcome.reorder_point',
        fromOutcome: { available: 'after', reorderPoint: 'reorder_point' },
      },
    ];
  }

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
