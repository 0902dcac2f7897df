export * from './common/codes.js';
export * from './inventory/events/inventory-adjusted.event.js';
export * from './inbound/events/goods-received.event.js';
export * from './outbound/events/pick-completed.event.js';
export * from './master-data/events/product-created.event.js';
export * from './wms-domain.module.js';
