import type { EventEnvelope } from '@wms/events';

// The payload fields these notifications read (the full classes live in libs/wms-domain, which this lib does not depend on).
interface InventoryLowStockV1 {
  warehouseId: string;
  sku: string;
  available: number;
  reorderPoint: number;
}
interface InventoryOutOfStockV1 {
  warehouseId: string;
  sku: string;
}
interface ReceiptDiscrepancyFoundV1 {
  warehouseId: string;
  asnNumber: string;
  sku: string;
  kind: string;
  expected: number;
  received: number;
  damaged: number;
}
interface PickShortV1 {
  warehouseId: string;
  orderNumber: string;
  sku: string;
  locationCode: string;
  requested: number;
  picked: number;
}
interface ShipmentDispatchedV1 {
  warehouseId: string;
  orderNumber: string;
  carrierCode: string;
  trackingNumber: string;
}
import { type Category, type Rendered, type Severity, WarehouseNotification } from './notification.js';

export class LowStockNotification extends WarehouseNotification<InventoryLowStockV1> {
  readonly kind = 'low_stock';
  readonly category: Category = 'stock';
  readonly severity: Severity = 'warning';
  render(): Rendered {
    return {
      title: `Low stock ${this.p.sku}`,
      body: `${this.p.sku} in ${this.p.warehouseId}: ${this.p.available} available, reorder point ${this.p.reorderPoint}.`,
      link: `/warehouses/${this.p.warehouseId}/stock?sku=${this.p.sku}`,
    };
  }
}

export class OutOfStockNotification extends WarehouseNotification<InventoryOutOfStockV1> {
  readonly kind = 'out_of_stock';
  readonly category: Category = 'stock';
  readonly severity: Severity = 'critical';
  render(): Rendered {
    return {
      title: `Out of stock ${this.p.sku}`,
      body: `No available unit of ${this.p.sku} is left in ${this.p.warehouseId}.`,
      link: `/warehouses/${this.p.warehouseId}/stock?sku=${this.p.sku}`,
    };
  }
}

export class ReceivingDiscrepancyNotification extends WarehouseNotification<ReceiptDiscrepancyFoundV1> {
  readonly kind = 'receiving_discrepancy';
  readonly category: Category = 'inbound';
  readonly severity: Severity = 'warning';
  override dedupKey(): string {
    return `${this.kind}:${this.p.warehouseId}/${this.p.asnNumber}/${this.p.sku}/${this.p.kind}`;
  }
  render(): Rendered {
    return {
      title: `Receiving ${this.p.kind} on ${this.p.asnNumber}`,
      body: `${this.p.sku}: expected ${this.p.expected}, received ${this.p.received}, damaged ${this.p.damaged} (${this.p.warehouseId}).`,
      link: null,
    };
  }
}

export class ShortPickNotification extends WarehouseNotification<PickShortV1> {
  readonly kind = 'short_pick';
  readonly category: Category = 'outbound';
  readonly severity: Severity = 'warning';
  render(): Rendered {
    return {
      title: `Short pick on ${this.p.orderNumber}`,
      body: `${this.p.sku} at ${this.p.locationCode}: picked ${this.p.picked} of ${this.p.requested} (${this.p.warehouseId}).`,
      link: `/warehouses/${this.p.warehouseId}/orders/${this.p.orderNumber}`,
    };
  }
}

export class ShipmentDispatchedNotification extends WarehouseNotification<ShipmentDispatchedV1> {
  readonly kind = 'shipment_dispatched';
  readonly category: Category = 'outbound';
  readonly severity: Severity = 'info';
  render(): Rendered {
    return {
      title: `Shipped ${this.p.orderNumber}`,
      body: `${this.p.orderNumber} left ${this.p.warehouseId} with ${this.p.carrierCode}, tracking ${this.p.trackingNumber}.`,
      link: `/warehouses/${this.p.warehouseId}/orders/${this.p.orderNumber}`,
    };
  }
}

interface DeadLetterAddedV1 {
  deadLetterId: string;
  queue: string;
  jobName: string;
  eventName?: string;
  error: string;
  fingerprint: string;
  retries: number;
}

export class DeadLetterAddedNotification extends WarehouseNotification<DeadLetterAddedV1> {
  readonly kind = 'dead_letter_added';
  readonly category: Category = 'system';
  readonly severity: Severity = 'warning';
  override defaultRoles(): string[] {
    return ['admin'];
  }
  /** One alert per kind of failure per window, however many jobs fail the same way. */
  override dedupKey(): string {
    return `${this.kind}:${this.p.fingerprint}`;
  }
  render(): Rendered {
    return {
      title: `Failed job: ${this.p.jobName}`,
      body: `${this.p.jobName} on ${this.p.queue}${this.p.eventName ? ` (${this.p.eventName})` : ''} ran out of attempts: ${this.p.error}`,
      link: `/admin/dead-letters/${this.p.deadLetterId}`,
    };
  }
}

interface SystemAlertV1 {
  kind: string;
  message: string;
}

export class SystemAlertNotification extends WarehouseNotification<SystemAlertV1> {
  readonly kind = 'system_alert';
  readonly category: Category = 'system';
  readonly severity: Severity = 'critical';
  override defaultRoles(): string[] {
    return ['admin'];
  }
  render(): Rendered {
    return { title: `System alert: ${this.p.kind.replace('_', ' ')}`, body: this.p.message, link: '/ui/' };
  }
}

// Each class takes its own event's payload; the event name picks the class, and the catalog has already
// validated the payload against that event's schema, so the map may hold constructors of any payload.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type NotificationClass = new (event: EventEnvelope<any>) => WarehouseNotification;

/** Which notification an event becomes. Persistent contract: `kind` values are stored in notifications and rules. */
export const NOTIFICATIONS_BY_EVENT: Record<string, NotificationClass> = {
  'inventory.low_stock': LowStockNotification,
  'inventory.out_of_stock': OutOfStockNotification,
  'receipt.discrepancy_found': ReceivingDiscrepancyNotification,
  'pick.short': ShortPickNotification,
  'shipment.dispatched': ShipmentDispatchedNotification,
  'dead_letter.added': DeadLetterAddedNotification,
  'system.alert': SystemAlertNotification,
};

export const NOTIFIABLE_EVENTS = Object.keys(NOTIFICATIONS_BY_EVENT);
