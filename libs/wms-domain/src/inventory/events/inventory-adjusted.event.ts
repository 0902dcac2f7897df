import { IsIn, IsInt, IsOptional, IsString, MaxLength, NotEquals } from 'class-validator';
import { defineEvent } from '@wms/events';
import { IsLocationCode, IsSku, IsWarehouseCode, stockStream } from '../../common/codes.js';

export const ADJUSTMENT_REASONS = ['damaged', 'lost', 'found', 'expired', 'count_correction', 'returned', 'other'] as const;

export class InventoryAdjustedV1 {
  @IsWarehouseCode()
  warehouseId: string;

  @IsSku()
  sku: string;

  @IsLocationCode()
  locationCode: string;

  /** Signed change in units; never zero. */
  @IsInt()
  @NotEquals(0)
  quantityDelta: number;

  @IsIn(ADJUSTMENT_REASONS)
  reasonCode: (typeof ADJUSTMENT_REASONS)[number];

  @IsOptional()
  @IsString()
  @MaxLength(64)
  lot?: string;
}

defineEvent<InventoryAdjustedV1>({
  name: 'inventory.adjusted',
  version: 1,
  payload: InventoryAdjustedV1,
  description: 'Stock of one SKU at one location was corrected by hand, with a reason code.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: ['POST /events'],
});

declare module '@wms/events' {
  interface EventMap {
    'inventory.adjusted': InventoryAdjustedV1;
  }
}
