import { IsIn, IsString, Length, Matches } from 'class-validator';
import { defineEvent } from '@wms/events';
import { IsSku } from '../../common/codes.js';

export const UNITS_OF_MEASURE = ['EA', 'CS', 'PL', 'KG', 'L', 'M'] as const;

export class ProductCreatedV1 {
  @IsSku()
  sku: string;

  @Matches(/^\d{8}$|^\d{12,14}$/, { message: '$property must be a GTIN of 8, 12, 13 or 14 digits' })
  gtin: string;

  @IsString()
  @Length(1, 200)
  name: string;

  @IsIn(UNITS_OF_MEASURE)
  unitOfMeasure: (typeof UNITS_OF_MEASURE)[number];
}

defineEvent<ProductCreatedV1>({
  name: 'product.created',
  version: 1,
  payload: ProductCreatedV1,
  description: 'A product (SKU) was added to the tenant’s master data; tenant-wide, not tied to a warehouse.',
  aggregateType: 'product',
  aggregateId: (p) => p.sku,
  emittedBy: ['POST /events'],
});

declare module '@wms/events' {
  interface EventMap {
    'product.created': ProductCreatedV1;
  }
}
