import { Injectable } from '@nestjs/common';
import { DeadLetterService } from '@wms/events';
import { DELIVER_JOB, type DeliverGroupJob, type DeliverJob, DeliveryService } from '@wms/notifications';
import type { Job } from 'bullmq';
import { DeadLetteringHost } from './dead-lettering.host.js';

/** Queue `notifications`: one job per (notification, channel), or per (recipient, channel) window for grouped SMS and digests. */
@Injectable()
export class NotificationDeliveryProcessor extends DeadLetteringHost {
  constructor(
    private readonly deliveries: DeliveryService,
    deadLetters: DeadLetterService,
  ) {
    super(deadLetters);
  }

  process(job: Job<DeliverJob | DeliverGroupJob>): Promise<void> {
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (job.name === DELIVER_JOB) return this.deliveries.deliver((job.data as DeliverJob).deliveryId, last);
    const { userId, channel } = job.data as DeliverGroupJob;
    return this.deliveries.deliverGroup(userId, channel, last);
  }
}
