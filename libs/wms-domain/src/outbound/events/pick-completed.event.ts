import { IsInt, IsPositive, IsString, Matches } from 'class-validator';
import { defineEvent } from '@wms/events';
import { IsLocationCode, IsSku, IsWarehouseCode } from '../../common/codes.js';

export class PickCompletedV1 {
  @IsWarehouseCode()
  warehouseId: string;

  @IsString()
  @Matches(/^[A-Za-z0-9-]{1,32}$/, { message: '$property must be an order number of letters, digits and "-"' })
  orderNumber: string;

  @IsSku()
  sku: string;

  @IsLocationCode()
  locationCode: string;

  @IsInt()
  @IsPositive()
  quantity: number;
}

defineEvent<PickCompletedV1>({
  name: 'pick.completed',
  version: 1,
  payload: PickCompletedV1,
  description: 'An operator picked the full quantity of one order line from a location.',
  aggregateType: 'order',
  aggregateId: (p) => `${p.warehouseId}/${p.orderNumber}`,
  warehouseId: (p) => p.warehouseId,
  emittedBy: ['POST /events'],
});

declare module '@wms/events' {
  interface EventMap {
    'pick.completed': PickCompletedV1;
  }
}
