import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { type DeadLetterService, failedJobOf, isExhausted, PROCESS_EVENT_JOB } from '@wms/events';
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
    if (!job || !isExhausted(job, error)) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deadLetters.record(failedJobOf(job), error);
        return;
      } catch (recordError) {
        if (attempt < 3) {
          await new Promise((r) => setTimeout(r, 500 * attempt));
          continue;
        }
        // Nothing may fail silently: an event job leaves BullMQ so the outbox relay runs it again later;
        // any other job stays in BullMQ's failed set, visible in the queue UI.
        new Logger(this.constructor.name).error(
          { jobId: job.id, queue: job.queueName, error: (recordError as Error).message },
          'could not store the dead letter',
        );
        if (job.name === PROCESS_EVENT_JOB) await job.remove().catch(() => undefined);
        return;
      }
    }
  }

  @OnWorkerEvent('completed')
  async onCompleted(job: Job): Promise<void> {
    await this.deadLetters.completed(job.id);
  }
}
