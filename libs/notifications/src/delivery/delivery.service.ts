import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig, DeadLetterAdminService } from '@wms/events';
import { type Queue, UnrecoverableError } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { DeliveryError, type NotificationChannel } from '../channels/channel.js';
import { EmailChannel } from '../channels/email.channel.js';
import { InAppChannel } from '../channels/in-app.channel.js';
import { PushChannel } from '../channels/push.channel.js';
import { SmsChannel } from '../channels/sms.channel.js';
import type { Channel, Recipient, StoredNotification } from '../notifications/notification.js';
import type { QueuedDelivery } from '../routing/notification-router.service.js';

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

type Outcome = { error?: undefined } | { error: Error; permanent: boolean };

/** Sends queued deliveries through their channel, one job per delivery or per (recipient, channel, window). */
@Injectable()
export class DeliveryService implements OnModuleInit {
  private readonly logger = new Logger(DeliveryService.name);
  private readonly channels: Record<Channel, NotificationChannel>;

  constructor(
    private readonly db: DataSource,
    private readonly config: AppConfig,
    @InjectQueue(NOTIFICATIONS_QUEUE) private readonly queue: Queue<DeliverJob | DeliverGroupJob>,
    inApp: InAppChannel,
    email: EmailChannel,
    sms: SmsChannel,
    push: PushChannel,
    private readonly deadLetters: DeadLetterAdminService,
  ) {
    this.channels = { in_app: inApp, email, sms, push };
  }

  /** An admin's retry of a dead delivery job puts its failed deliveries back in the queue first. */
  onModuleInit(): void {
    this.deadLetters.onRetry(NOTIFICATIONS_QUEUE, async (m, data, deadLetter) => {
      const job = data as Partial<DeliverJob & DeliverGroupJob>;
      if (job.deliveryId)
        await m.query(
          `UPDATE notification_deliveries SET status = 'queued', updated_at = now() WHERE id = $1 AND status = 'failed'`,
          [job.deliveryId],
        );
      // A group job: only the deliveries it failed (since it was created), not older failures of the same person.
      else
        await m.query(
          `UPDATE notification_deliveries
           SET status = 'queued', updated_at = now()
           WHERE user_id = $1 AND channel = $2 AND status = 'failed' AND updated_at >= $3`,
          [job.userId, job.channel, deadLetter.firstFailedAt],
        );
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
    return this.run(`d.id = $1`, [deliveryId], lastAttempt);
  }

  deliverGroup(userId: string, channel: Channel, lastAttempt: boolean): Promise<void> {
    return this.run(`d.user_id = $1 AND d.channel = $2`, [userId, channel], lastAttempt);
  }

  /** Re-queues deliveries whose job was lost (Redis restarted, enqueue failed after commit). */
  async redrive(olderThanS = 60): Promise<number> {
    const stale: { id: string; user_id: string; channel: Channel; grouped: boolean }[] = await this.db.query(
      `SELECT d.id, d.user_id, d.channel,
              (d.channel = 'sms' OR (d.channel = 'email' AND coalesce(p.email_digest, false) AND n.severity <> 'critical')) AS grouped
       FROM notification_deliveries d
       JOIN notifications n ON n.id = d.notification_id
       LEFT JOIN notification_preferences p ON p.user_id = d.user_id
       WHERE d.status = 'queued' AND d.created_at < now() - make_interval(secs => $1)
       LIMIT 1000`,
      [olderThanS],
    );
    await this.enqueue(stale.map((s) => ({ id: s.id, userId: s.user_id, channel: s.channel, grouped: s.grouped })));
    return stale.length;
  }

  private async run(filter: string, params: unknown[], lastAttempt: boolean): Promise<void> {
    const followUps: QueuedDelivery[] = [];
    const outcome = await this.db.transaction(async (m): Promise<Outcome> => {
      const rows: { id: string; user_id: string; channel: Channel; tenant_id: string }[] = await m.query(
        `SELECT d.id, d.user_id, d.channel, d.tenant_id
         FROM notification_deliveries d
         WHERE ${filter} AND d.status = 'queued'
         ORDER BY d.created_at
         FOR UPDATE SKIP LOCKED`,
        params,
      );
      if (!rows.length) return {}; // nothing to do: already sent, or not committed by a failed routing
      const ids = rows.map((r) => r.id);
      const channel = this.channels[rows[0].channel];
      const unavailable = channel.unavailable();
      if (unavailable) {
        await this.finish(m, ids, 'skipped', unavailable);
        return {};
      }
      if (channel.kind === 'sms' && !(await this.withinSmsBudget(m, rows[0].tenant_id, followUps))) {
        await this.finish(m, ids, 'suppressed', `daily SMS budget of ${this.config.SMS_DAILY_BUDGET} reached`);
        return {};
      }
      const recipient = await loadRecipient(m, rows[0].user_id);
      const items: StoredNotification[] = (
        await m.query(
          `SELECT n.id, n.kind, n.severity, n.title, n.body, n.link, n.created_at
           FROM notification_deliveries d
           JOIN notifications n ON n.id = d.notification_id
           WHERE d.id = ANY($1::uuid[])
           ORDER BY n.created_at`,
          [ids],
        )
      ).map((n: Omit<StoredNotification, 'createdAt'> & { created_at: Date }) => ({
        id: n.id,
        kind: n.kind,
        severity: n.severity,
        title: n.title,
        body: n.body,
        link: n.link,
        createdAt: n.created_at.toISOString(),
      }));
      try {
        const providerId = await channel.send(recipient, items);
        await this.attempt(m, ids, 'sent', null);
        await this.finish(m, ids, 'sent', null, providerId);
        return {};
      } catch (error) {
        const permanent = error instanceof DeliveryError ? error.permanent : false;
        await this.attempt(m, ids, permanent ? 'permanent_failure' : 'temporary_failure', (error as Error).message);
        if (permanent || lastAttempt) await this.finish(m, ids, 'failed', (error as Error).message);
        return { error: error as Error, permanent };
      }
    });
    if (followUps.length) await this.enqueue(followUps);
    if (outcome.error) {
      this.logger.warn({ error: outcome.error.message, permanent: outcome.permanent }, 'notification delivery failed');
      throw outcome.permanent ? new UnrecoverableError(outcome.error.message) : outcome.error;
    }
  }

  private async attempt(m: EntityManager, ids: string[], outcome: string, error: string | null): Promise<void> {
    await m.query(`INSERT INTO delivery_attempts (delivery_id, outcome, error) SELECT unnest($1::uuid[]), $2, $3`, [
      ids,
      outcome,
      error,
    ]);
  }

  private async finish(
    m: EntityManager,
    ids: string[],
    status: string,
    reason: string | null,
    providerId: string | null = null,
  ): Promise<void> {
    await m.query(
      `UPDATE notification_deliveries SET status = $2, reason = $3, provider_id = $4, updated_at = now() WHERE id = ANY($1::uuid[])`,
      [ids, status, reason, providerId],
    );
  }

  /** Counts one SMS against the tenant's daily budget; the first refusal of the day tells the admins in-app. */
  private async withinSmsBudget(m: EntityManager, tenantId: string, followUps: QueuedDelivery[]): Promise<boolean> {
    const [budget] = await m.query(
      `INSERT INTO sms_budget (tenant_id, day, sent) VALUES ($1, current_date, 1)
       ON CONFLICT (tenant_id, day) DO UPDATE SET sent = sms_budget.sent + 1 RETURNING sent, notice_sent`,
      [tenantId],
    );
    if (budget.sent <= this.config.SMS_DAILY_BUDGET) return true;
    if (!budget.notice_sent) {
      await m.query(`UPDATE sms_budget SET notice_sent = true WHERE tenant_id = $1 AND day = current_date`, [tenantId]);
      const admins: { id: string }[] = await m.query(
        `SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' AND NOT disabled`,
        [tenantId],
      );
      for (const admin of admins) {
        const id = uuidv7();
        const deliveryId = uuidv7();
        await m.query(
          `INSERT INTO notifications (id, tenant_id, user_id, kind, category, severity, title, body, dedup_key)
           VALUES ($1, $2, $3, 'sms_budget_reached', 'system', 'warning', 'SMS budget reached', $4, $5)`,
          [
            id,
            tenantId,
            admin.id,
            `Today's ${this.config.SMS_DAILY_BUDGET} SMS are used up; further SMS alerts are held back until tomorrow ` +
              '(in-app and email still work).',
            `sms_budget:${tenantId}`,
          ],
        );
        await m.query(
          `INSERT INTO notification_deliveries (id, notification_id, tenant_id, user_id, channel, status)
           VALUES ($1, $2, $3, $4, 'in_app', 'queued')`,
          [deliveryId, id, tenantId, admin.id],
        );
        followUps.push({ id: deliveryId, userId: admin.id, channel: 'in_app', grouped: false });
      }
    }
    return false;
  }
}

export async function loadRecipient(m: EntityManager, userId: string): Promise<Recipient> {
  const [u] = await m.query(
    `SELECT id, tenant_id, email, display_name, phone, role, time_zone,
            EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = users.id) AS has_push
     FROM users
     WHERE id = $1`,
    [userId],
  );
  return {
    id: u.id,
    tenantId: u.tenant_id,
    email: u.email,
    displayName: u.display_name,
    phone: u.phone,
    role: u.role,
    timeZone: u.time_zone,
    hasPush: u.has_push,
  };
}
