import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { EVENTS_QUEUE, type EventsJobs, PROCESS_EVENT_JOB, type QueueOf } from '../queues.js';
import { OutboxRepository } from './outbox.repository.js';

/**
 * Queues again every accepted event whose processing has not finished in time — because the api
 * could not reach the queue, or the queue lost the job (Redis restarted without persistence).
 * The job id is the event id, so an event whose job is still queued is not queued twice.
 */
@Injectable()
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);

  constructor(
    private readonly outbox: OutboxRepository,
    @InjectQueue(EVENTS_QUEUE) private readonly queue: QueueOf<EventsJobs>,
  ) {}

  /** Returns how many stale events it queued again. */
  async redrive(olderThanMs: number, batchSize = 500): Promise<number> {
    let total = 0;
    let after: string | undefined;
    for (;;) {
      const stale = await this.outbox.stale(olderThanMs, batchSize, after);
      if (stale.length === 0) break;
      await this.queue.addBulk(
        stale.map((event) => ({ name: PROCESS_EVENT_JOB, data: event, opts: { jobId: event.id } })),
      );
      total += stale.length;
      after = stale[stale.length - 1].id;
    }
    if (total) this.logger.log({ requeued: total }, 'outbox relay queued unprocessed events again');
    return total;
  }
}
