import { Module } from '@nestjs/common';
// Event types register themselves in the catalog when their file loads.
import './master-data/master-data.events.js';
import './inbound/inbound.events.js';
import './inventory/inventory.events.js';
import './outbound/outbound.events.js';
import { InboundService } from './inbound/inbound.service.js';
import { InventoryService } from './inventory/inventory.service.js';
import { StockRepository } from './inventory/stock.repository.js';
import { MasterDataService } from './master-data/master-data.service.js';
import { OutboundService } from './outbound/outbound.service.js';

const services = [StockRepository, MasterDataService, InventoryService, InboundService, OutboundService];

/** Warehouse master data, inbound, inventory and outbound commands, and the events they emit. */
@Module({ providers: services, exports: services })
export class WmsDomainModule {}
