import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { DataSource } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { ListenerRegistry } from './listener-registry.service.js';
import { ListenerReceiptsRepository } from './listener-receipts.repository.js';
import { ListenerLocks } from './listener-locks.service.js';

/** Runs one queued listener for one event, at most once per (listener, event). */
@Injectable()
export class ListenerRunner {
  constructor(
    private readonly registry: ListenerRegistry,
    private readonly db: DataSource,
    private readonly receipts: ListenerReceiptsRepository,
    private readonly locks: ListenerLocks,
  ) {}

  /** Returns false when the listener had already handled the event. */
  async run(listenerName: string, event: EventEnvelope): Promise<boolean> {
    const listener = this.registry.get(listenerName);
    if (!listener)
      throw new UnrecoverableError(`No queued listener named "${listenerName}" is registered in this worker`);
    // The receipt and the listener's own writes commit together; a listener that throws leaves no receipt.
    let afterCommit: (() => Promise<void>) | undefined;
    const handled = await this.db.transaction(async (manager) => {
      // A projection's rebuild resets its rows and receipts in one transaction; never half-way through one.
      if (listener.reset) await this.locks.shareProjection(manager, event.tenantId, listenerName);
      if (!(await this.receipts.claim(manager, listenerName, event))) return false;
      const result = await listener.handle(event, manager);
      if (typeof result === 'function') afterCommit = result as () => Promise<void>;
      return true;
    });
    // A listener may hand back work that must only see committed rows (e.g. queueing jobs for them).
    await afterCommit?.();
    return handled;
  }
}
