import type { EventEnvelope } from '../envelope/event-envelope.js';

/** Socket.io room names. Every room starts with the tenant, so no broadcast crosses tenants. */
export const tenantRoom = (tenantId: string) => `tenant:${tenantId}`;
export const warehouseRoom = (tenantId: string, warehouseId: string) => `tenant:${tenantId}:warehouse:${warehouseId}`;
export const eventNameRoom = (tenantId: string, warehouseId: string | null, name: string) =>
  `${warehouseId === null ? tenantRoom(tenantId) : warehouseRoom(tenantId, warehouseId)}:event:${name}`;

/** The rooms an event is sent to: its warehouse (or tenant, for tenant-wide events) and its name within that scope. */
export function roomsFor(event: EventEnvelope): string[] {
  const scope =
    event.warehouseId === null ? tenantRoom(event.tenantId) : warehouseRoom(event.tenantId, event.warehouseId);
  return [scope, eventNameRoom(event.tenantId, event.warehouseId, event.name)];
}

/**
 * The socket.io message clients listen to for stored events: an array of envelopes, in the order they were stored,
 * all of one warehouse (or tenant) and one event name.
 */
export const EVENTS_MESSAGE = 'events';

/**
 * The pub/sub channel socket.io's adapter (api) and emitter (worker) share, per installation (QUEUE_PREFIX),
 * so two installations on one Redis or Postgres never hear each other's broadcasts. Persistent contract:
 * api and worker must agree on it, so change them together.
 */
export const socketChannel = (queuePrefix: string) => `${queuePrefix}-socket.io`;
