import { SetMetadata } from '@nestjs/common';
import type { EventMap, EventName } from '../catalog/event-catalog.js';
import type { EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';

export const QUEUED_LISTENER = Symbol('wms:queued-listener');

export interface QueuedListenerOptions {
  /** Persistent contract: the listener's job name and receipt key. Name it for what it does and when,
   *  e.g. `notify-low-stock-when-inventory-adjusted`. Renaming one makes it handle old events again. */
  name: string;
  events: EventName[];
}

const declared: QueuedListenerOptions[] = [];

/**
 * Marks a method `(event, manager)` that runs in the worker, in its own retried job, once per matching
 * stored event, in a transaction with its receipt. It may return a function to run after that commit.
 */
export const QueuedListener = (options: QueuedListenerOptions): MethodDecorator => {
  declared.push(options);
  return SetMetadata(QUEUED_LISTENER, options);
};

/** Every listener declared in the code loaded so far, known without starting Nest (for the catalog document). */
export const declaredQueuedListeners = (): readonly QueuedListenerOptions[] => declared;

export type QueuedListenerHandler<N extends EventName = EventName> = (
  event: EventEnvelope<EventMap[N]>,
  manager: EntityManager,
) => Promise<unknown> | unknown;
