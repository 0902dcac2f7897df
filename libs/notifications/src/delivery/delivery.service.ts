import { InjectQueue } from '@nestjs/bullmq';
import { NotificationsConfig } from '../notifications-config.js';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DeadLetterAdminService, type QueueOf } from '@wms/events';
import { UnrecoverableError } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import { DeliveryError, type NotificationChannel } from '../channels/channel.js';
import { EmailChannel } from '../channels/email.channel.js';
import { InAppChannel } from '../channels/in-app.channel.js';
import { PushChannel } from '../channels/push.channel.js';
import { SmsChannel } from '../channels/sms.channel.js';
import { type Channel, deliveredGrouped } from '../notifications/notification.js';
import { NotificationsRepository, type PendingDelivery } from '../notifications/notifications.repository.js';
import { RecipientsRepository } from '../recipients/recipients.repository.js';
import type { QueuedDelivery } from '../routing/notification-router.service.js';
import { SmsBudgetRepository } from './sms-budget.repository.js';

/** Persistent contract: queue and job names; renaming one strands queued deliveries. */
export const NOTIFICATIONS_QUEUE = 'notifications';
export const DELIVER_JOB = 'deliver';
export const DELIVER_GROUP_JOB = 'deliver-group';

export interface DeliverJob {
  deliveryId: string;
}
export interface DeliverGroupJob {
  userId: string;
  channel: Channel;
}

/** The jobs of the `notifications` queue, by name. */
export interface NotificationJobs {
  [DELIVER_JOB]: DeliverJob;
  [DELIVER_GROUP_JOB]: DeliverGroupJob;
}

type Outcome = { error?: undefined } | { error: Error; permanent: boolean };

/** Sends queued deliveries through their channel, one job per delivery or per (recipient, channel, window). */
@Injectable()
export class DeliveryService implements OnModuleInit {
  private readonly logger = new Logger(DeliveryService.name);
  private readonly channels: Record<Channel, NotificationChannel>;

  constructor(
    private readonly db: DataSource,
    private readonly config: NotificationsConfig,
    @InjectQueue(NOTIFICATIONS_QUEUE) private readonly queue: QueueOf<NotificationJobs>,
    inApp: InAppChannel,
    email: EmailChannel,
    sms: SmsChannel,
    push: PushChannel,
    private readonly deadLetters: DeadLetterAdminService,
    private readonly notifications: NotificationsRepository,
    private readonly recipients: RecipientsRepository,
    private readonly smsBudget: SmsBudgetRepository,
  ) {
    this.channels = { in_app: inApp, email, sms, push };
  }

  /** An admin's retry of a dead delivery job puts its failed deliveries back in the queue first. */
  onModuleInit(): void {
    this.deadLetters.onRetry(NOTIFICATIONS_QUEUE, async (m, data, deadLetter) => {
      const job = data as Partial<DeliverJob & DeliverGroupJob>;
      if (job.deliveryId) await this.notifications.requeueFailed(m, job.deliveryId);
      // A group job: only the deliveries it failed (since it was created), not older failures of the same person.
      else if (job.userId && job.channel)
        await this.notifications.requeueFailedSince(m, job.userId, job.channel, deadLetter.firstFailedAt);
    });
  }

  /** Queues the jobs for deliveries that were just committed (never inside their transaction). */
  async enqueue(deliveries: QueuedDelivery[]): Promise<void> {
    for (const d of deliveries) {
      if (!d.grouped) {
        await this.queue.add(DELIVER_JOB, { deliveryId: d.id }, { jobId: d.id });
        continue;
      }
      const delay = 1000 * (d.channel === 'sms' ? this.config.SMS_GROUP_WINDOW_S : this.config.EMAIL_DIGEST_WINDOW_S);
      // The first grouped delivery opens a window; while its job waits, adding the same job id is a no-op, so
      // everything queued for this person and channel until the job runs goes out as one message.
      await this.queue.add(
        DELIVER_GROUP_JOB,
        { userId: d.userId, channel: d.channel },
        { jobId: `group@${d.userId}@${d.channel}`, delay, removeOnComplete: true, removeOnFail: true },
      );
    }
  }

  deliver(deliveryId: string, lastAttempt: boolean): Promise<void> {
    return this.run((m) => this.notifications.lockQueued(m, deliveryId), lastAttempt);
  }

  deliverGroup(userId: string, channel: Channel, lastAttempt: boolean): Promise<void> {
    return this.run((m) => this.notifications.lockQueuedGroup(m, userId, channel), lastAttempt);
  }

  /** Re-queues deliveries whose job was lost (Redis restarted, enqueue failed after commit). */
  async redrive(olderThanS = 60): Promise<number> {
    const stale = await this.notifications.queuedOlderThan(olderThanS);
    if (!stale.length) return 0;
    const digest = await this.recipients.withEmailDigest([...new Set(stale.map((s) => s.userId))]);
    await this.enqueue(
      stale.map(({ id, userId, channel, severity }) => ({
        id,
        userId,
        channel,
        grouped: deliveredGrouped(channel, severity, digest.has(userId)),
      })),
    );
    return stale.length;
  }

  private async run(lock: (m: EntityManager) => Promise<PendingDelivery[]>, lastAttempt: boolean): Promise<void> {
    const outcome = await this.db.transaction(async (m): Promise<Outcome> => {
      const rows = await lock(m);
      if (!rows.length) return {}; // nothing to do: already sent, or not committed by a failed routing
      const ids = rows.map((r) => r.id);
      const channel = this.channels[rows[0].channel];
      const unavailable = channel.unavailable();
      if (unavailable) {
        await this.notifications.finish(m, ids, 'skipped', unavailable);
        return {};
      }
      // Counted where SMS are sent; routing tells the admins when the budget is used up.
      const budget = this.config.SMS_DAILY_BUDGET;
      if (channel.kind === 'sms' && (await this.smsBudget.countOne(m, rows[0].tenantId)) > budget) {
        await this.notifications.finish(m, ids, 'suppressed', `daily SMS budget of ${budget} reached`);
        return {};
      }
      const recipient = await this.recipients.recipient(rows[0].userId, m);
      const items = await this.notifications.contents(m, ids);
      try {
        const providerId = await channel.send(recipient, items);
        await this.notifications.recordAttempt(m, ids, 'sent', null);
        await this.notifications.finish(m, ids, 'sent', null, providerId);
        return {};
      } catch (error) {
        const permanent = error instanceof DeliveryError ? error.permanent : false;
        const message = (error as Error).message;
        await this.notifications.recordAttempt(m, ids, permanent ? 'permanent_failure' : 'temporary_failure', message);
        if (permanent || lastAttempt) await this.notifications.finish(m, ids, 'failed', message);
        return { error: error as Error, permanent };
      }
    });
    if (outcome.error) {
      this.logger.warn({ error: outcome.error.message, permanent: outcome.permanent }, 'notification delivery failed');
      throw outcome.permanent ? new UnrecoverableError(outcome.error.message) : outcome.error;
    }
  }
}
