import { SetMetadata } from '@nestjs/common';
import type { EventMap, EventName } from '../catalog/event-catalog.js';
import type { EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';

export const QUEUED_LISTENER = Symbol('wms:queued-listener');
export const RESETS_PROJECTION = Symbol('wms:resets-projection');

export interface QueuedListenerOptions {
  /** Persistent contract: the listener's job name and receipt key. Name it for what it does and when,
   *  e.g. `notify-low-stock-when-inventory-adjusted`. Renaming one makes it handle old events again. */
  name: string;
  events: EventName[];
  /**
   * Opt-in for projections only: an admin may rebuild it (reset its receipts for a time range and replay that
   * range to it). Never for a listener with effects outside its own rows — notifications, webhooks, ERP calls —
   * which a rebuild would repeat. Requires a `@ResetsProjection(name)` method on the same provider.
   */
  rebuildable?: boolean;
}

/** The events a rebuild resets: one tenant's, that occurred in [from, to) (ISO-8601). */
export interface RebuildScope {
  tenantId: string;
  from: string;
  to: string;
}

/**
 * Forgets, in the rebuild's transaction, everything the projection derived from the events of `scope`, so that
 * replaying exactly those events gives back what they gave. A projection that cannot forget such a slice (a
 * running total over all history, buckets the range does not align with) throws a DomainError naming `from`
 * or `to`; the rebuild then changes nothing.
 */
export type ProjectionReset = (scope: RebuildScope, manager: EntityManager) => Promise<unknown> | unknown;

const declared: QueuedListenerOptions[] = [];

/**
 * Marks a method `(event, manager)` that runs in the worker, in its own retried job, once per matching
 * stored event, in a transaction with its receipt. It may return a function to run after that commit.
 */
export const QueuedListener = (options: QueuedListenerOptions): MethodDecorator => {
  declared.push(options);
  return SetMetadata(QUEUED_LISTENER, options);
};

/** Marks the method `(scope, manager)` that resets the projection of the rebuildable listener `listener`. */
export const ResetsProjection =
  (listener: string) =>
  <T extends ProjectionReset>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>): void => {
    SetMetadata(RESETS_PROJECTION, listener)(target, key, descriptor);
  };

/** Every listener declared in the code loaded so far, known without starting Nest (for the catalog document). */
export const declaredQueuedListeners = (): readonly QueuedListenerOptions[] => declared;

export type QueuedListenerHandler<N extends EventName = EventName> = (
  event: EventEnvelope<EventMap[N]>,
  manager: EntityManager,
) => Promise<unknown> | unknown;
