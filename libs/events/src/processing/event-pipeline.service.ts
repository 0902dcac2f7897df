import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { EventBroadcaster } from '../broadcasting/event-broadcaster.service.js';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { ListenerRegistry } from '../listeners/listener-registry.service.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { listenerJobId, type ListenerJobs, LISTENERS_QUEUE, type QueueOf } from '../queues.js';
import { EventStoreRepository } from '../store/event-store.repository.js';

/**
 * What `process-event` does with one accepted event. Every step is safe to repeat, so a job that is
 * redelivered (worker killed, lock lost, outbox redrive) stores the event once and fans out once.
 */
@Injectable()
export class EventPipeline {
  constructor(
    private readonly store: EventStoreRepository,
    private readonly broadcaster: EventBroadcaster,
    private readonly registry: ListenerRegistry,
    private readonly outbox: OutboxRepository,
    @InjectQueue(LISTENERS_QUEUE) private readonly listenersQueue: QueueOf<ListenerJobs>,
  ) {}

  async handle(event: EventEnvelope): Promise<void> {
    await this.store.appendOnce(event);
    this.broadcaster.broadcast(event);
    const listeners = this.registry.forEvent(event.name);
    if (listeners.length) {
      await this.listenersQueue.addBulk(
        listeners.map((l) => ({ name: l.name, data: event, opts: { jobId: listenerJobId(l.name, event.id) } })),
      );
    }
    // Last: until here a lost job is queued again from the outbox.
    await this.outbox.markProcessed(event.id);
  }
}
