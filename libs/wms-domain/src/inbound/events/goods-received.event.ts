import { IsInt, IsOptional, IsPositive, IsString, MaxLength } from 'class-validator';
import { defineEvent } from '@wms/events';
import { IsLocationCode, IsSku, IsWarehouseCode, stockStream } from '../../common/codes.js';

export class GoodsReceivedV1 {
  @IsWarehouseCode()
  warehouseId: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  asnNumber?: string;

  @IsSku()
  sku: string;

  /** The receiving dock or staging location the goods were scanned into. */
  @IsLocationCode()
  locationCode: string;

  @IsInt()
  @IsPositive()
  quantity: number;
}

defineEvent<GoodsReceivedV1>({
  name: 'goods.received',
  version: 1,
  payload: GoodsReceivedV1,
  description: 'Units of a SKU were received at a dock location, against an ASN or without one.',
  aggregateType: 'stock',
  aggregateId: stockStream,
  warehouseId: (p) => p.warehouseId,
  emittedBy: ['POST /events'],
});

declare module '@wms/events' {
  interface EventMap {
    'goods.received': GoodsReceivedV1;
  }
}
