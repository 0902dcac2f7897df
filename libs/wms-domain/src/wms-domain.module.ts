import { Module } from '@nestjs/common';
import './inventory/events/inventory-adjusted.event.js';
import './inbound/events/goods-received.event.js';
import './outbound/events/pick-completed.event.js';
import './master-data/events/product-created.event.js';

/** Warehouse entities, the commands that change them and the events they emit. */
@Module({})
export class WmsDomainModule {}
