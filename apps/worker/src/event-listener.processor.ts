import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { DeadLetterService, EventEnvelope, failedJobOf, isExhausted, ListenerRunner } from '@wms/events';
import type { Job } from 'bullmq';

/** Queue `event-listeners`: one job per (listener, event), named after the listener, retried on its own. */
@Injectable()
export class EventListenerProcessor extends WorkerHost {
  constructor(
    private readonly runner: ListenerRunner,
    private readonly deadLetters: DeadLetterService,
  ) {
    super();
  }

  async process(job: Job<EventEnvelope>): Promise<void> {
    await this.runner.run(job.name, job.data);
  }

  /** Connection trouble (e.g. Redis restarting): BullMQ reconnects by itself; the outbox relay re-queues lost jobs. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    new Logger(this.constructor.name).warn({ error: error.message }, 'queue worker error');
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job<EventEnvelope> | undefined, error: Error): Promise<void> {
    if (job && isExhausted(job, error)) await this.deadLetters.record(failedJobOf(job), error);
  }
}
