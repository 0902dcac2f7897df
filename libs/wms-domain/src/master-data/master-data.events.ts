import { IsIn, IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import { defineEvent } from '@wms/events';
import { IsGtin } from '../common/barcode.js';
import { IsCode, IsSku, IsWarehouseCode, locationStream } from '../common/codes.js';

// Persistent contract: event names and payload fields below are stored and queued. Add fields or versions; never rename.

export const UNITS_OF_MEASURE = ['EA', 'CS', 'PL', 'KG', 'L', 'M'] as const;
export type UnitOfMeasure = (typeof UNITS_OF_MEASURE)[number];

export class WarehouseCreatedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsString() @Length(1, 200) name: string;
  @IsString() @Length(1, 64) timeZone: string;
}

export class ZoneCreatedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() zoneCode: string;
  @IsString() @Length(1, 200) name: string;
}

export class LocationCreatedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() locationCode: string;
  @IsCode() zoneCode: string;
  @IsOptional() @IsInt() @Min(1) capacity?: number;
}

export class LocationBlockedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() locationCode: string;
  @IsString() @Length(1, 500) reason: string;
}

export class LocationUnblockedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() locationCode: string;
}

export class ProductCreatedV1 {
  @IsSku() sku: string;
  @IsGtin() gtin: string;
  @IsString() @Length(1, 200) name: string;
  @IsIn(UNITS_OF_MEASURE) unitOfMeasure: UnitOfMeasure;
  @IsInt() @Min(0) reorderPoint: number;
  @IsOptional() @IsInt() @Min(1) maxLevel?: number;
}

export class ProductUpdatedV1 {
  @IsSku() sku: string;
  @IsOptional() @IsString() @Length(1, 200) name?: string;
  @IsOptional() @IsInt() @Min(0) reorderPoint?: number;
  @IsOptional() @IsInt() @Min(1) maxLevel?: number;
}

export class ProductDiscontinuedV1 {
  @IsSku() sku: string;
  @IsOptional() @IsString() @Length(1, 500) reason?: string;
}

export const PARTNER_KINDS = ['supplier', 'customer', 'carrier'] as const;
export type PartnerKind = (typeof PARTNER_KINDS)[number];

export class PartnerCreatedV1 {
  @IsCode() code: string;
  @IsString() @Length(1, 200) name: string;
}

const MASTER_DATA = 'MasterDataService';

defineEvent<WarehouseCreatedV1>({
  name: 'warehouse.created',
  version: 1,
  payload: WarehouseCreatedV1,
  description: 'A warehouse was set up.',
  aggregateType: 'warehouse',
  aggregateId: (p) => p.warehouseId,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${MASTER_DATA}.createWarehouse — POST /warehouses`],
});
defineEvent<ZoneCreatedV1>({
  name: 'zone.created',
  version: 1,
  payload: ZoneCreatedV1,
  description: 'A zone was added to a warehouse.',
  aggregateType: 'zone',
  aggregateId: (p) => `${p.warehouseId}/${p.zoneCode}`,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${MASTER_DATA}.createZone — POST /warehouses/:wh/zones`],
});
defineEvent<LocationCreatedV1>({
  name: 'location.created',
  version: 1,
  payload: LocationCreatedV1,
  keys: ['locationCode'],
  description: 'A storage or dock location was added to a zone.',
  aggregateType: 'location',
  aggregateId: locationStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${MASTER_DATA}.createLocation — POST /warehouses/:wh/locations`],
});
defineEvent<LocationBlockedV1>({
  name: 'location.blocked',
  version: 1,
  payload: LocationBlockedV1,
  keys: ['locationCode'],
  description: 'A location was blocked: no stock moves in or out, nothing is picked from it.',
  severity: 'warning',
  aggregateType: 'location',
  aggregateId: locationStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${MASTER_DATA}.blockLocation — POST /warehouses/:wh/locations/:code/block`],
});
defineEvent<LocationUnblockedV1>({
  name: 'location.unblocked',
  version: 1,
  payload: LocationUnblockedV1,
  keys: ['locationCode'],
  description: 'A blocked location is usable again.',
  aggregateType: 'location',
  aggregateId: locationStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: [`${MASTER_DATA}.unblockLocation — POST /warehouses/:wh/locations/:code/unblock`],
});
defineEvent<ProductCreatedV1>({
  name: 'product.created',
  version: 1,
  payload: ProductCreatedV1,
  keys: ['sku'],
  description: 'A product (SKU) was added to the tenant’s master data.',
  aggregateType: 'product',
  aggregateId: (p) => p.sku,
  emittedBy: [`${MASTER_DATA}.createProduct — POST /products`],
});
defineEvent<ProductUpdatedV1>({
  name: 'product.updated',
  version: 1,
  payload: ProductUpdatedV1,
  keys: ['sku'],
  description: 'A product’s name, reorder point or max level changed (only changed fields are present).',
  aggregateType: 'product',
  aggregateId: (p) => p.sku,
  emittedBy: [`${MASTER_DATA}.updateProduct — PATCH /products/:sku`],
});
defineEvent<ProductDiscontinuedV1>({
  name: 'product.discontinued',
  version: 1,
  payload: ProductDiscontinuedV1,
  keys: ['sku'],
  description: 'A product may no longer be received or ordered.',
  aggregateType: 'product',
  aggregateId: (p) => p.sku,
  emittedBy: [`${MASTER_DATA}.discontinueProduct — POST /products/:sku/discontinue`],
});
for (const kind of PARTNER_KINDS) {
  defineEvent<PartnerCreatedV1>({
    name: `${kind}.created`,
    version: 1,
    payload: PartnerCreatedV1,
    description: `A ${kind} was added to the tenant’s master data.`,
    aggregateType: kind,
    aggregateId: (p) => p.code,
    emittedBy: [`${MASTER_DATA}.createPartner — POST /${kind}s`],
  });
}

declare module '@wms/events' {
  interface EventMap {
    'warehouse.created': WarehouseCreatedV1;
    'zone.created': ZoneCreatedV1;
    'location.created': LocationCreatedV1;
    'location.blocked': LocationBlockedV1;
    'location.unblocked': LocationUnblockedV1;
    'product.created': ProductCreatedV1;
    'product.updated': ProductUpdatedV1;
    'product.discontinued': ProductDiscontinuedV1;
    'supplier.created': PartnerCreatedV1;
    'customer.created': PartnerCreatedV1;
    'carrier.created': PartnerCreatedV1;
  }
}
