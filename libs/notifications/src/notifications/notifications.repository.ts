import { Injectable } from '@nestjs/common';
import { changedRows, declareLifetime, EventsConfig, type SettingsOf } from '@wms/events';
import { DataSource, type EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Category, Channel, Severity, StoredNotification } from './notification.js';

export type DeliveryStatus = 'queued' | 'sent' | 'failed' | 'suppressed' | 'skipped' | 'unroutable';
export type AttemptOutcome = 'sent' | 'temporary_failure' | 'permanent_failure';

export interface NewNotification {
  tenantId: string;
  userId: string;
  kind: string;
  category: Category;
  severity: Severity;
  title: string;
  body: string;
  link: string | null;
  dedupKey: string;
  /** The event it is about; null for the system's own notices. */
  eventId: string | null;
}

export interface NewDelivery {
  notificationId: string;
  tenantId: string;
  userId: string;
  /** Null only for an `unroutable` delivery. */
  channel: Channel | null;
  status: DeliveryStatus;
  reason: string | null;
}

/** A queued delivery, locked for sending. */
export interface PendingDelivery {
  id: string;
  userId: string;
  tenantId: string;
  channel: Channel;
}

export interface StaleDelivery {
  id: string;
  userId: string;
  channel: Channel;
  severity: Severity;
}

export interface InboxItem {
  id: string;
  kind: string;
  category: string;
  severity: string;
  title: string;
  body: string;
  link: string | null;
  createdAt: string;
  readAt: string | null;
}

type InboxRow = Omit<InboxItem, 'createdAt' | 'readAt'> & { created_at: Date; read_at: Date | null };
type ContentRow = Omit<StoredNotification, 'createdAt'> & { created_at: Date };

const SENT_IN_APP = `EXISTS (
  SELECT 1
  FROM notification_deliveries d
  WHERE d.notification_id = n.id
    AND d.channel = 'in_app'
    AND d.status = 'sent'
)`;

// The notifications aggregate lives as long as the hot history, children first: attempts, then deliveries whose
// attempts are gone (never one still queued, nor a failed one an admin may retry), then notifications without
// deliveries. An in-app notification leaves the inbox with them.
const retention = (settings: SettingsOf) => settings(EventsConfig).EVENT_RETENTION_DAYS;
declareLifetime('delivery_attempts', {
  lifetime: 'EVENT_RETENTION_DAYS after the attempt',
  expired: (settings) => ({ where: `at < now() - make_interval(days => $1)`, params: [retention(settings)] }),
});
declareLifetime('notification_deliveries', {
  lifetime:
    'EVENT_RETENTION_DAYS after it was queued, once settled (sent, suppressed, skipped, unroutable) and its attempts are gone',
  expired: (settings) => ({
    where: `created_at < now() - make_interval(days => $1)
            AND status IN ('sent', 'suppressed', 'skipped', 'unroutable')
            AND NOT EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = notification_deliveries.id)`,
    params: [retention(settings)],
  }),
});
declareLifetime('notifications', {
  lifetime: 'EVENT_RETENTION_DAYS after it was created, once its deliveries are gone (read or not)',
  expired: (settings) => ({
    where: `created_at < now() - make_interval(days => $1)
            AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = notifications.id)`,
    params: [retention(settings)],
  }),
});

/**
 * The notifications aggregate: a notification per (event, recipient), its deliveries per channel and every
 * attempt of those. Owns `notifications`, `notification_deliveries` and `delivery_attempts`.
 */
@Injectable()
export class NotificationsRepository {
  constructor(private readonly db: DataSource) {}

  /** Stores a notification; its id, or null when the recipient already has this one about the event. */
  async record(m: EntityManager, n: NewNotification): Promise<string | null> {
    const [row]: { id: string }[] = await m.query(
      `INSERT INTO notifications (id, tenant_id, user_id, kind, category, severity, title, body, link, dedup_key, event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [uuidv7(), n.tenantId, n.userId, n.kind, n.category, n.severity, n.title, n.body, n.link, n.dedupKey, n.eventId],
    );
    return row?.id ?? null;
  }

  /** Adds a delivery of a stored notification; its id. */
  async addDelivery(m: EntityManager, d: NewDelivery): Promise<string> {
    const id = uuidv7();
    await m.query(
      `INSERT INTO notification_deliveries (id, notification_id, tenant_id, user_id, channel, status, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, d.notificationId, d.tenantId, d.userId, d.channel, d.status, d.reason],
    );
    return id;
  }

  /** Locks the delivery for sending if it is still queued. */
  lockQueued(m: EntityManager, deliveryId: string): Promise<PendingDelivery[]> {
    return this.lockQueuedWhere(m, 'd.id = $1', [deliveryId]);
  }

  /** Locks everything still queued for the person on the channel, oldest first. */
  lockQueuedGroup(m: EntityManager, userId: string, channel: Channel): Promise<PendingDelivery[]> {
    return this.lockQueuedWhere(m, 'd.user_id = $1 AND d.channel = $2', [userId, channel]);
  }

  /** What the deliveries carry, oldest first, as channels render it. */
  async contents(m: EntityManager, deliveryIds: string[]): Promise<StoredNotification[]> {
    const rows: ContentRow[] = await m.query(
      `SELECT n.id, n.kind, n.severity, n.title, n.body, n.link, n.created_at
       FROM notification_deliveries d
       JOIN notifications n ON n.id = d.notification_id
       WHERE d.id = ANY($1::uuid[])
       ORDER BY n.created_at`,
      [deliveryIds],
    );
    return rows.map(({ created_at: createdAt, ...n }) => ({ ...n, createdAt: createdAt.toISOString() }));
  }

  async recordAttempt(m: EntityManager, deliveryIds: string[], outcome: AttemptOutcome, error: string | null) {
    await m.query(
      `INSERT INTO delivery_attempts (delivery_id, outcome, error)
       SELECT unnest($1::uuid[]), $2, $3`,
      [deliveryIds, outcome, error],
    );
  }

  async finish(
    m: EntityManager,
    deliveryIds: string[],
    status: DeliveryStatus,
    reason: string | null,
    providerId: string | null = null,
  ): Promise<void> {
    await m.query(
      `UPDATE notification_deliveries
       SET status = $2, reason = $3, provider_id = $4, updated_at = now()
       WHERE id = ANY($1::uuid[])`,
      [deliveryIds, status, reason, providerId],
    );
  }

  /** Puts a failed delivery back in the queue (an admin's retry). */
  async requeueFailed(m: EntityManager, deliveryId: string): Promise<void> {
    await m.query(
      `UPDATE notification_deliveries
       SET status = 'queued', updated_at = now()
       WHERE id = $1
         AND status = 'failed'`,
      [deliveryId],
    );
  }

  /** Puts the person's deliveries on the channel that failed since `since` back in the queue. */
  async requeueFailedSince(m: EntityManager, userId: string, channel: Channel, since: Date): Promise<void> {
    await m.query(
      `UPDATE notification_deliveries
       SET status = 'queued', updated_at = now()
       WHERE user_id = $1
         AND channel = $2
         AND status = 'failed'
         AND updated_at >= $3`,
      [userId, channel, since],
    );
  }

  /** Deliveries queued longer ago than `seconds` (their job may be lost), at most `limit`. */
  async queuedOlderThan(seconds: number, limit = 1000): Promise<StaleDelivery[]> {
    const rows: { id: string; user_id: string; channel: Channel; severity: Severity }[] = await this.db.query(
      `SELECT d.id, d.user_id, d.channel, n.severity
       FROM notification_deliveries d
       JOIN notifications n ON n.id = d.notification_id
       WHERE d.status = 'queued'
         AND d.created_at < now() - make_interval(secs => $1)
       LIMIT $2`,
      [seconds, limit],
    );
    return rows.map((r) => ({ id: r.id, userId: r.user_id, channel: r.channel, severity: r.severity }));
  }

  /** The person's notifications delivered in-app, newest first. */
  async inbox(userId: string, limit: number, unreadOnly: boolean): Promise<InboxItem[]> {
    const rows: InboxRow[] = await this.db.query(
      `SELECT id, kind, category, severity, title, body, link, created_at, read_at
       FROM notifications n
       WHERE user_id = $1
         AND ${SENT_IN_APP}
         AND ($3 = false OR read_at IS NULL)
       ORDER BY created_at DESC
       LIMIT $2`,
      [userId, limit, unreadOnly],
    );
    return rows.map(({ created_at: createdAt, read_at: readAt, ...r }) => ({
      ...r,
      createdAt: createdAt.toISOString(),
      readAt: readAt?.toISOString() ?? null,
    }));
  }

  async unreadCount(userId: string): Promise<number> {
    const [{ n }]: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n
       FROM notifications n
       WHERE user_id = $1
         AND read_at IS NULL
         AND ${SENT_IN_APP}`,
      [userId],
    );
    return n;
  }

  /** Whether the person has notification `id` (now read). */
  async markRead(userId: string, id: string): Promise<boolean> {
    const rows = await changedRows(
      this.db.manager,
      `UPDATE notifications
       SET read_at = coalesce(read_at, now())
       WHERE id = $1
         AND user_id = $2
       RETURNING id`,
      [id, userId],
    );
    return rows.length > 0;
  }

  /** How many unread notifications of the person it marked read. */
  async markAllRead(userId: string): Promise<number> {
    const rows = await changedRows(
      this.db.manager,
      `UPDATE notifications
       SET read_at = now()
       WHERE user_id = $1
         AND read_at IS NULL
       RETURNING id`,
      [userId],
    );
    return rows.length;
  }

  private async lockQueuedWhere(m: EntityManager, where: string, params: unknown[]): Promise<PendingDelivery[]> {
    const rows: { id: string; user_id: string; tenant_id: string; channel: Channel }[] = await m.query(
      `SELECT d.id, d.user_id, d.tenant_id, d.channel
       FROM notification_deliveries d
       WHERE ${where}
         AND d.status = 'queued'
       ORDER BY d.created_at
       FOR UPDATE SKIP LOCKED`,
      params,
    );
    return rows.map((r) => ({ id: r.id, userId: r.user_id, tenantId: r.tenant_id, channel: r.channel }));
  }
}
