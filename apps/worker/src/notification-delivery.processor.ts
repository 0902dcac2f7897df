import { Injectable } from '@nestjs/common';
import { DeadLetterService, type JobOf } from '@wms/events';
import { DELIVER_GROUP_JOB, DELIVER_JOB, DeliveryService, type NotificationJobs } from '@wms/notifications';
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

  process(job: JobOf<NotificationJobs>): Promise<void> {
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    switch (job.name) {
      case DELIVER_JOB:
        return this.deliveries.deliver(job.data.deliveryId, last);
      case DELIVER_GROUP_JOB:
        return this.deliveries.deliverGroup(job.data.userId, job.data.channel, last);
    }
  }
}
