import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsIn,
  IsInt,
  IsOptional,
  IsPositive,
  IsString,
  Length,
  Min,
  ValidateNested,
} from 'class-validator';
import { defineEvent, IsStrictDate } from '@wms/events';
import { IsCode, IsLot, IsSku, IsWarehouseCode, stockStream } from '../common/codes.js';

// Persistent contract: event names and payload fields below are stored and queued. Add fields or versions; never rename.

export class AsnLineV1 {
  @IsSku() sku: string;
  @IsInt() @IsPositive() quantity: number;
}

export class AsnCreatedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() asnNumber: string;
  @IsCode() supplierCode: string;
  @ValidateNested({ each: true }) @Type(() => AsnLineV1) @ArrayMinSize(1) @ArrayMaxSize(500) lines: AsnLineV1[];
}

export class AsnClosedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() asnNumber: string;
}

export class GoodsReceivedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsOptional() @IsCode() asnNumber?: string;
  @IsSku() sku: string;
  /** The dock or staging location the goods were scanned into. */
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsOptional() @IsStrictDate() expiresOn?: string;
  /** Good units, added to stock. */
  @IsInt() @Min(0) quantity: number;
  /** Damaged units, recorded but not stocked. */
  @IsInt() @Min(0) damaged: number;
}

export const DISCREPANCY_KINDS = ['over', 'short', 'damaged', 'unexpected'] as const;

export class ReceiptDiscrepancyFoundV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() asnNumber: string;
  @IsSku() sku: string;
  @IsIn(DISCREPANCY_KINDS) kind: (typeof DISCREPANCY_KINDS)[number];
  @IsInt() @Min(0) expected: number;
  @IsInt() @Min(0) received: number;
  @IsInt() @Min(0) damaged: number;
}

export class QualityHoldPlacedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsInt() @IsPositive() quantity: number;
  @IsString() @Length(1, 500) reason: string;
}

export class QualityHoldReleasedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsInt() @IsPositive() quantity: number;
}

/** A move of available units between two locations (putaway.completed and inventory.moved). */
export class StockMovedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsSku() sku: string;
  @IsLot() lot: string;
  @IsCode() fromLocation: string;
  @IsCode() toLocation: string;
  @IsInt() @IsPositive() quantity: number;
}

const INBOUND = 'InboundService';
const fromStream = (p: StockMovedV1) =>
  stockStream({ warehouseId: p.warehouseId, sku: p.sku, locationCode: p.fromLocation });

defineEvent<AsnCreatedV1>({
  name: 'asn.created',
  version: 1,
  payload: AsnCreatedV1,
  keys: ['asnNumber', 'lines[].sku'],
  description: 'A supplier announced a delivery (advance shipping notice) with its lines.',
  aggregateType: 'asn',
  aggregateId: (p) => `${p.warehouseId}/${p.asnNumber}`,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INBOUND}.createAsn — POST /warehouses/:wh/asns`],
});
defineEvent<AsnClosedV1>({
  name: 'asn.closed',
  version: 1,
  payload: AsnClosedV1,
  keys: ['asnNumber'],
  description: 'Receiving against an ASN is finished; short lines were reported as discrepancies.',
  aggregateType: 'asn',
  aggregateId: (p) => `${p.warehouseId}/${p.asnNumber}`,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INBOUND}.closeAsn — POST /warehouses/:wh/asns/:number/close`],
});
defineEvent<GoodsReceivedV1>({
  name: 'goods.received',
  version: 1,
  payload: GoodsReceivedV1,
  keys: ['asnNumber', 'sku', 'locationCode', 'lot'],
  description: 'Units of a SKU were scanned in at a dock location, against an ASN or without one.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INBOUND}.receive — POST /warehouses/:wh/receipts`],
});
defineEvent<ReceiptDiscrepancyFoundV1>({
  name: 'receipt.discrepancy_found',
  version: 1,
  payload: ReceiptDiscrepancyFoundV1,
  keys: ['asnNumber', 'sku'],
  severity: 'warning',
  description:
    'What was received differs from the ASN: over, short (at close), damaged, or a SKU the ASN does not list.',
  aggregateType: 'asn',
  aggregateId: (p) => `${p.warehouseId}/${p.asnNumber}`,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [
    `${INBOUND}.receive — POST /warehouses/:wh/receipts`,
    `${INBOUND}.closeAsn — POST /warehouses/:wh/asns/:number/close`,
  ],
});
defineEvent<QualityHoldPlacedV1>({
  name: 'quality.hold_placed',
  version: 1,
  payload: QualityHoldPlacedV1,
  keys: ['sku', 'locationCode', 'lot'],
  severity: 'warning',
  description: 'Units were put on quality hold: not allocatable, not movable.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INBOUND}.placeHold — POST /warehouses/:wh/holds`],
});
defineEvent<QualityHoldReleasedV1>({
  name: 'quality.hold_released',
  version: 1,
  payload: QualityHoldReleasedV1,
  keys: ['sku', 'locationCode', 'lot'],
  description: 'Held units were released back to available stock.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INBOUND}.releaseHold — POST /warehouses/:wh/holds/release`],
});
defineEvent<StockMovedV1>({
  name: 'putaway.completed',
  version: 1,
  payload: StockMovedV1,
  keys: ['sku', 'lot', 'fromLocation', 'toLocation'],
  description: 'Received units were put away from a dock to a storage location.',
  aggregateType: 'stock',
  aggregateId: fromStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${INBOUND}.putaway — POST /warehouses/:wh/putaways`],
});
defineEvent<StockMovedV1>({
  name: 'inventory.moved',
  version: 1,
  payload: StockMovedV1,
  keys: ['sku', 'lot', 'fromLocation', 'toLocation'],
  description: 'Available units were moved between two locations.',
  aggregateType: 'stock',
  aggregateId: fromStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: ['InventoryService.move — POST /warehouses/:wh/moves'],
});

declare module '@wms/events' {
  interface EventMap {
    'asn.created': AsnCreatedV1;
    'asn.closed': AsnClosedV1;
    'goods.received': GoodsReceivedV1;
    'receipt.discrepancy_found': ReceiptDiscrepancyFoundV1;
    'quality.hold_placed': QualityHoldPlacedV1;
    'quality.hold_released': QualityHoldReleasedV1;
    'putaway.completed': StockMovedV1;
    'inventory.moved': StockMovedV1;
  }
}
