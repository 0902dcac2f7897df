import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { type DeadLetterService, failedJobOf, isExhausted } from '@wms/events';
import type { Job } from 'bullmq';

/** What every processor does around its jobs: exhausted ones go to the dead-letter store, retried ones resolve it. */
export abstract class DeadLetteringHost extends WorkerHost {
  constructor(protected readonly deadLetters: DeadLetterService) {
    super();
  }

  /** Connection trouble (e.g. Redis restarting): BullMQ reconnects by itself; the relays re-queue lost jobs. */
  @OnWorkerEvent('error')
  onError(error: Error): void {
    new Logger(this.constructor.name).warn({ error: error.message }, 'queue worker error');
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job | undefined, error: Error): Promise<void> {
    if (job && isExhausted(job, error)) await this.deadLetters.record(failedJobOf(job), error);
  }

  @OnWorkerEvent('completed')
  async onCompleted(job: Job): Promise<void> {
    await this.deadLetters.completed(job.id);
  }
}
