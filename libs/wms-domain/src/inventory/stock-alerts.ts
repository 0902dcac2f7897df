import type { EventTransaction, PublishContext } from '@wms/events';
import type { StockRepository } from './stock.repository.js';

/**
 * Publishes inventory.low_stock / inventory.out_of_stock when a command takes a SKU's available units in
 * a warehouse across its reorder point or to zero — once per crossing, not on every change below it.
 */
export async function publishStockThresholds(
  tx: EventTransaction,
  stock: StockRepository,
  ctx: PublishContext,
  warehouseId: string,
  sku: string,
  availableBefore: number,
): Promise<void> {
  const after = await stock.available(tx.manager, ctx.tenantId, warehouseId, sku);
  if (after >= availableBefore) return;
  if (after === 0) {
    await tx.publish('inventory.out_of_stock', { warehouseId, sku }, ctx);
    return;
  }
  const [{ reorder_point: reorderPoint }] = await tx.manager.query(
    `SELECT reorder_point FROM products WHERE tenant_id = $1 AND sku = $2`,
    [ctx.tenantId, sku],
  );
  if (availableBefore > reorderPoint && after <= reorderPoint) {
    await tx.publish('inventory.low_stock', { warehouseId, sku, available: after, reorderPoint }, ctx);
  }
}
