import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { DeadLetterService, failedJobOf, isExhausted } from '@wms/events';
import { DELIVER_JOB, type DeliverGroupJob, type DeliverJob, DeliveryService } from '@wms/notifications';
import type { Job } from 'bullmq';

/** Queue `notifications`: one job per (notification, channel), or per (recipient, channel, window) for grouped SMS and digests. */
@Injectable()
export class NotificationDeliveryProcessor extends WorkerHost {
  constructor(
    private readonly deliveries: DeliveryService,
    private readonly deadLetters: DeadLetterService,
  ) {
    super();
  }

  process(job: Job<DeliverJob | DeliverGroupJob>): Promise<void> {
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (job.name === DELIVER_JOB) return this.deliveries.deliver((job.data as DeliverJob).deliveryId, last);
    const { userId, channel } = job.data as DeliverGroupJob;
    return this.deliveries.deliverGroup(userId, channel, last);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    new Logger(NotificationDeliveryProcessor.name).warn({ error: error.message }, 'queue worker error');
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job | undefined, error: Error): Promise<void> {
    if (job && isExhausted(job, error)) await this.deadLetters.record(failedJobOf(job), error);
  }
}
