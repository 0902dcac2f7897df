import { applyDecorators } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  IsUUID,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { defineEvent, schemaRule } from '@wms/events';
import { IsCode, IsLot, IsSku, IsWarehouseCode, orderStream } from '../common/codes.js';

// Persistent contract: event names and payload fields below are stored and queued. Add fields or versions; never rename.

export class OrderLineV1 {
  @IsInt() @Min(1) line: number;
  @IsSku() sku: string;
  @IsInt() @IsPositive() quantity: number;
}

export class OrderCreatedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsCode() customerCode: string;
  @ValidateNested({ each: true }) @Type(() => OrderLineV1) @ArrayMinSize(1) @ArrayMaxSize(500) lines: OrderLineV1[];
}

export class OrderAllocatedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsInt() @IsPositive() pickTasks: number;
}

export class PickAssignedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsUUID() taskId: string;
  @IsInt() @Min(1) line: number;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsInt() @IsPositive() quantity: number;
}

export class PickCompletedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsUUID() taskId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  /** Units taken out of the location. */
  @IsInt() @IsPositive() quantity: number;
}

export class PickShortV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsUUID() taskId: string;
  @IsSku() sku: string;
  @IsCode() locationCode: string;
  @IsLot() lot: string;
  @IsInt() @IsPositive() requested: number;
  /** Units actually taken out of the location (may be 0). */
  @IsInt() @Min(0) picked: number;
}

const WholeGrams = schemaRule(
  'wholeGrams',
  // toFixed, not class-validator's maxDecimalPlaces, which counts digits of toString() and throws on 1e-7.
  (value) => typeof value === 'number' && Number(value.toFixed(3)) === value,
  '$property must have at most 3 decimals (whole grams)',
);

/**
 * A carton's weight in kilograms at the precision it is stored with (`cartons.weight_kg numeric(8, 3)`, more than 0):
 * whole grams from 0.001 to 10 000 kg, so nothing valid here is rounded or refused by the column.
 */
export const IsCartonWeight = () => applyDecorators(IsNumber(), Min(0.001), Max(10_000), WholeGrams());

export class CartonV1 {
  @IsString() @Length(1, 64) cartonId: string;
  @IsOptional() @IsCartonWeight() weightKg?: number;
}

export class OrderPackedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @ValidateNested({ each: true }) @Type(() => CartonV1) @ArrayMinSize(1) @ArrayMaxSize(200) cartons: CartonV1[];
}

export class ShipmentDispatchedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsCode() carrierCode: string;
  @IsString() @Length(1, 64) trackingNumber: string;
  @IsInt() @IsPositive() cartons: number;
}

export class OrderCancelledV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsString() @Length(1, 500) reason: string;
}

export const TRACKING_STATUSES = ['in_transit', 'out_for_delivery', 'delivered', 'exception'] as const;

/** Published by carrier integrations through POST /events, not by a warehouse command. */
export class CarrierTrackingUpdatedV1 {
  @IsWarehouseCode() warehouseId: string;
  @IsCode() orderNumber: string;
  @IsCode() carrierCode: string;
  @IsString() @Length(1, 64) trackingNumber: string;
  @IsIn(TRACKING_STATUSES) status: (typeof TRACKING_STATUSES)[number];
  @IsOptional() @IsString() @Length(1, 200) detail?: string;
}

const OUTBOUND = 'OutboundService';
const order = {
  aggregateType: 'order',
  aggregateId: orderStream,
  warehouseId: (p: { warehouseId: string }) => p.warehouseId,
};

defineEvent<OrderCreatedV1>({
  name: 'order.created',
  version: 1,
  payload: OrderCreatedV1,
  keys: ['orderNumber', 'lines[].sku'],
  description: 'A customer order was received.',
  ...order,
  emittedBy: [`${OUTBOUND}.createOrder — POST /warehouses/:wh/orders`],
});
defineEvent<OrderAllocatedV1>({
  name: 'order.allocated',
  version: 1,
  payload: OrderAllocatedV1,
  keys: ['orderNumber'],
  description: 'Stock was reserved for every line of an order (earliest expiry first) and pick tasks were created.',
  ...order,
  emittedBy: [`${OUTBOUND}.allocate — POST /warehouses/:wh/orders/:number/allocate`],
});
defineEvent<PickAssignedV1>({
  name: 'pick.assigned',
  version: 1,
  payload: PickAssignedV1,
  keys: ['orderNumber', 'sku', 'locationCode', 'lot'],
  description: 'A pick task (SKU, location, lot, quantity) was created for an order line.',
  ...order,
  emittedBy: [`${OUTBOUND}.allocate — POST /warehouses/:wh/orders/:number/allocate`],
});
defineEvent<PickCompletedV1>({
  name: 'pick.completed',
  version: 1,
  payload: PickCompletedV1,
  keys: ['orderNumber', 'sku', 'locationCode', 'lot'],
  description: 'An operator picked the full quantity of a pick task; the units left the location.',
  ...order,
  emittedBy: [`${OUTBOUND}.confirmPick — POST /warehouses/:wh/picks/:taskId`],
});
defineEvent<PickShortV1>({
  name: 'pick.short',
  version: 1,
  payload: PickShortV1,
  keys: ['orderNumber', 'sku', 'locationCode', 'lot'],
  severity: 'warning',
  description: 'An operator found fewer units than the pick task asked for; the rest of the reservation was released.',
  ...order,
  emittedBy: [`${OUTBOUND}.confirmPick — POST /warehouses/:wh/picks/:taskId`],
});
defineEvent<OrderPackedV1>({
  name: 'order.packed',
  version: 1,
  payload: OrderPackedV1,
  keys: ['orderNumber', 'cartons[].cartonId'],
  description: 'A picked order was packed into cartons.',
  ...order,
  emittedBy: [`${OUTBOUND}.pack — POST /warehouses/:wh/orders/:number/pack`],
});
defineEvent<ShipmentDispatchedV1>({
  name: 'shipment.dispatched',
  version: 1,
  payload: ShipmentDispatchedV1,
  keys: ['orderNumber', 'trackingNumber'],
  description: 'A packed order left the warehouse with a carrier and a tracking number.',
  ...order,
  emittedBy: [`${OUTBOUND}.ship — POST /warehouses/:wh/orders/:number/ship`],
});
defineEvent<OrderCancelledV1>({
  name: 'order.cancelled',
  version: 1,
  payload: OrderCancelledV1,
  keys: ['orderNumber'],
  description: 'An order was cancelled before picking; its reservations were released.',
  ...order,
  emittedBy: [`${OUTBOUND}.cancel — POST /warehouses/:wh/orders/:number/cancel`],
});
defineEvent<CarrierTrackingUpdatedV1>({
  name: 'carrier.tracking_updated',
  version: 1,
  payload: CarrierTrackingUpdatedV1,
  keys: ['orderNumber', 'trackingNumber'],
  external: true,
  description: 'A carrier reported progress of a shipment (integration event, published with POST /events).',
  ...order,
  emittedBy: ['carrier integrations — POST /events'],
});

declare module '@wms/events' {
  interface EventMap {
    'order.created': OrderCreatedV1;
    'order.allocated': OrderAllocatedV1;
    'pick.assigned': PickAssignedV1;
    'pick.completed': PickCompletedV1;
    'pick.short': PickShortV1;
    'order.packed': OrderPackedV1;
    'shipment.dispatched': ShipmentDispatchedV1;
    'order.cancelled': OrderCancelledV1;
    'carrier.tracking_updated': CarrierTrackingUpdatedV1;
  }
}
