import { IsIn, IsInt, IsPositive, Min, NotEquals } from 'class-validator';
import { defineEvent, IsStrictDate } from '@wms/events';
import { IsCode, IsLot, IsSku, IsWarehouseCode, locationStream, stockStream } from '../common/codes.js';

// Persistent contract: event names and payload fields below are stored and queued. Add fields or versions; never rename.

export const ADJUSTMENT_REASONS = ['damaged', 'lost', 'found', 'expired', 'returned', 'other'] as const;
export type AdjustmentReason = (typeof ADJUSTMENT_REASONS)[number];

export class InventoryAdjustedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  /** Signed change in units on hand; never zero. */
  @IsInt() @NotEquals(0) quantityDelta: number;
  @IsIn(ADJUSTMENT_REASONS) reasonCode: AdjustmentReason;
}

export class InventoryCountedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsInt() @Min(0) expected: number;
  @IsInt() @Min(0) counted: number;
}

export class InventoryDiscrepancyFoundV1 extends InventoryCountedV1 {
  /** counted − expected; the stock was set to the counted quantity. */
  @IsInt() @NotEquals(0) quantityDelta: number;
}

export class InventoryReservationV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsInt() @IsPositive() quantity: number;
  @IsCode() orderNumber: string;
}

export class InventoryLowStockV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsInt() @Min(0) available: number;
  @IsInt() @Min(0) reorderPoint: number;
}

export class InventoryOutOfStockV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
}

export class InventoryExpiringSoonV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsStrictDate() expiresOn: string;
  @IsInt() @IsPositive() quantity: number;
}

export class LocationCapacityExceededV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() locationCode: string;
  @IsInt() @IsPositive() capacity: number;
  @IsInt() @Min(0) onHand: number;
}

const INVENTORY = 'InventoryService';
const skuStream = (p: { warehouseId: string; sku: string }) => `${p.warehouseId}/${p.sku}`;

defineEvent<InventoryAdjustedV1>({
  name: 'inventory.adjusted',
  version: 1,
  payload: InventoryAdjustedV1,
  keys: ['sku', 'locationCode', 'lot'],
  description: 'Stock of one SKU at one location was corrected by hand, with a reason code.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INVENTORY}.adjust — POST /warehouses/:wh/adjustments`],
});
defineEvent<InventoryCountedV1>({
  name: 'inventory.counted',
  version: 1,
  payload: InventoryCountedV1,
  keys: ['sku', 'locationCode', 'lot'],
  description: 'A cycle count of one SKU at one location was recorded.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INVENTORY}.count — POST /warehouses/:wh/counts`],
});
defineEvent<InventoryDiscrepancyFoundV1>({
  name: 'inventory.discrepancy_found',
  version: 1,
  payload: InventoryDiscrepancyFoundV1,
  keys: ['sku', 'locationCode', 'lot'],
  severity: 'warning',
  description: 'A count differed from the system quantity; stock on hand was set to the count.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INVENTORY}.count — POST /warehouses/:wh/counts`],
});
defineEvent<InventoryReservationV1>({
  name: 'inventory.reserved',
  version: 1,
  payload: InventoryReservationV1,
  keys: ['sku', 'locationCode', 'lot', 'orderNumber'],
  description: 'Units at a location were reserved for an order.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: ['OutboundService.allocate — POST /warehouses/:wh/orders/:number/allocate'],
});
defineEvent<InventoryReservationV1>({
  name: 'inventory.released',
  version: 1,
  payload: InventoryReservationV1,
  keys: ['sku', 'locationCode', 'lot', 'orderNumber'],
  description: 'Reserved units went back to available stock (order cancelled or pick short).',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [
    'OutboundService.cancel — POST /warehouses/:wh/orders/:number/cancel',
    'OutboundService.confirmPick — POST /warehouses/:wh/picks/:taskId',
  ],
});
defineEvent<InventoryLowStockV1>({
  name: 'inventory.low_stock',
  version: 1,
  payload: InventoryLowStockV1,
  keys: ['sku'],
  severity: 'warning',
  description:
    'Available units of a SKU in a warehouse fell to or below its reorder point (sent when crossing, not on every change).',
  aggregateType: 'sku',
  aggregateId: skuStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INVENTORY} — any command that lowers available stock`],
});
defineEvent<InventoryOutOfStockV1>({
  name: 'inventory.out_of_stock',
  version: 1,
  payload: InventoryOutOfStockV1,
  keys: ['sku'],
  severity: 'critical',
  description: 'No available unit of a SKU is left in a warehouse.',
  aggregateType: 'sku',
  aggregateId: skuStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INVENTORY} — any command that lowers available stock`],
});
defineEvent<InventoryExpiringSoonV1>({
  name: 'inventory.expiring_soon',
  version: 1,
  payload: InventoryExpiringSoonV1,
  keys: ['sku', 'locationCode', 'lot'],
  severity: 'warning',
  description: 'Units were received that expire within 30 days.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: ['InboundService.receive — POST /warehouses/:wh/receipts'],
});
defineEvent<LocationCapacityExceededV1>({
  name: 'location.capacity_exceeded',
  version: 1,
  payload: LocationCapacityExceededV1,
  keys: ['locationCode'],
  severity: 'warning',
  description:
    'Receiving put more units in a location than its capacity (moves and putaways over capacity are refused instead).',
  aggregateType: 'location',
  aggregateId: locationStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: ['InboundService.receive — POST /warehouses/:wh/receipts'],
});

declare module '@wms/events' {
  interface EventMap {
    'inventory.adjusted': InventoryAdjustedV1;
    'inventory.counted': InventoryCountedV1;
    'inventory.discrepancy_found': InventoryDiscrepancyFoundV1;
    'inventory.reserved': InventoryReservationV1;
    'inventory.released': InventoryReservationV1;
    'inventory.low_stock': InventoryLowStockV1;
    'inventory.out_of_stock': InventoryOutOfStockV1;
    'inventory.expiring_soon': InventoryExpiringSoonV1;
    'location.capacity_exceeded': LocationCapacityExceededV1;
  }
}
