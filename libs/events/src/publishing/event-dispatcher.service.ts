import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { eventsPublished } from '../monitoring/metrics.js';
import { MicroBatcher } from '../database/micro-batcher.js';
import { EVENTS_QUEUE, type EventsJobs, PROCESS_EVENT_JOB, type QueueOf } from '../queues.js';

/**
 * Hands committed events on: to local listeners (@nestjs/event-emitter) and to the `process-event`
 * queue. Failing to queue loses nothing: the event is in the outbox and the relay queues it again.
 */
@Injectable()
export class EventDispatcher {
  private readonly logger = new Logger(EventDispatcher.name);
  private readonly batcher = new MicroBatcher<EventEnvelope, void>(async (events) => {
    await this.queue.addBulk(
      events.map((event) => ({ name: PROCESS_EVENT_JOB, data: event, opts: { jobId: event.id } })),
    );
    return events.map(() => undefined);
  });

  constructor(
    @InjectQueue(EVENTS_QUEUE) private readonly queue: QueueOf<EventsJobs>,
    private readonly emitter: EventEmitter2,
  ) {}

  /** Called after commit; never throws. */
  dispatch(events: EventEnvelope[]): void {
    for (const event of events) {
      eventsPublished.inc({ name: event.name });
      try {
        this.emitter.emit(event.name, event);
      } catch (error) {
        this.logger.error({ err: error, eventId: event.id, eventName: event.name }, 'local listener failed');
      }
      this.batcher
        .push(event)
        .catch((error: Error) =>
          this.logger.warn(
            { eventId: event.id, error: error.message },
            'could not queue event; the outbox relay will queue it again',
          ),
        );
    }
  }
}
