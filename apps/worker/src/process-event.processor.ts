import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { DeadLetterService, EventEnvelope, EventPipeline, failedJobOf, isExhausted } from '@wms/events';
import type { Job } from 'bullmq';

/** Queue `events`, job `process-event`: store, broadcast, fan out. Registered in WorkerModule. */
@Injectable()
export class ProcessEventProcessor extends WorkerHost {
  constructor(
    private readonly pipeline: EventPipeline,
    private readonly deadLetters: DeadLetterService,
  ) {
    super();
  }

  process(job: Job<EventEnvelope>): Promise<void> {
    return this.pipeline.handle(job.data);
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
