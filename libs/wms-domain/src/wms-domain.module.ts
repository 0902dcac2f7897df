import { Module } from '@nestjs/common';
// Event types register themselves in the catalog when their file loads.
import './master-data/master-data.events.js';
import './inbound/inbound.events.js';
import './inventory/inventory.events.js';
import './outbound/outbound.events.js';
import { ScanService } from './common/scan.service.js';
import { AsnsRepository } from './inbound/asns.repository.js';
import { InboundService } from './inbound/inbound.service.js';
import { InventoryService } from './inventory/inventory.service.js';
import { StockThresholdsService } from './inventory/stock-thresholds.service.js';
import { StockRepository } from './inventory/stock.repository.js';
import { MasterDataChanges } from './master-data/master-data-changes.js';
import { KnownWarehouses } from './master-data/known-warehouses.service.js';
import { MasterDataRepository } from './master-data/master-data.repository.js';
import { MasterDataService } from './master-data/master-data.service.js';
import { OrdersRepository } from './outbound/orders.repository.js';
import { OutboundService } from './outbound/outbound.service.js';

const repositories = [MasterDataRepository, StockRepository, AsnsRepository, OrdersRepository];
const services = [
  MasterDataChanges,
  ScanService,
  StockThresholdsService,
  MasterDataService,
  KnownWarehouses,
  InventoryService,
  InboundService,
  OutboundService,
];

/** Warehouse master data, inbound, inventory and outbound commands, and the events they emit. */
@Module({ providers: [...repositories, ...services], exports: [...repositories, ...services] })
export class WmsDomainModule {}
