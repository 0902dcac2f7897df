import { Injectable, Logger } from '@nestjs/common';
import { AppConfig, type EventEnvelope } from '@wms/events';
import type { EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import {
  type Channel,
  CHANNELS,
  type Recipient,
  type Rendered,
  SEVERITY_RANK,
  type Severity,
  type WarehouseNotification,
} from '../notifications/notification.js';
import { NOTIFICATIONS_BY_EVENT } from '../notifications/warehouse-notifications.js';

export interface Condition {
  field: string;
  op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'in';
  value: unknown;
}

interface Rule {
  conditions: Condition[];
  min_severity: Severity;
  recipient_users: string[];
  recipient_roles: string[];
  channels: Channel[];
}

/** Where a notification goes when the tenant has no rule of its own for its event: its default roles, every channel. */
export const defaultRule = (notification: WarehouseNotification): Rule => ({
  conditions: [],
  min_severity: 'info',
  recipient_users: [],
  recipient_roles: notification.defaultRoles(),
  channels: ['in_app', 'email', 'sms', 'push'],
});

export interface QueuedDelivery {
  id: string;
  userId: string;
  channel: Channel;
  /** Delivered together with others for the same recipient within a window (SMS, email digest). */
  grouped: boolean;
}

const valueAt = (payload: Record<string, unknown>, field: string): unknown =>
  field.split('.').reduce<unknown>((v, k) => (v == null ? undefined : (v as Record<string, unknown>)[k]), payload);

export function conditionHolds(payload: Record<string, unknown>, c: Condition): boolean {
  const v = valueAt(payload, c.field);
  switch (c.op) {
    case 'eq':
      return v === c.value;
    case 'neq':
      return v !== c.value;
    case 'gt':
      return typeof v === 'number' && v > (c.value as number);
    case 'gte':
      return typeof v === 'number' && v >= (c.value as number);
    case 'lt':
      return typeof v === 'number' && v < (c.value as number);
    case 'lte':
      return typeof v === 'number' && v <= (c.value as number);
    case 'in':
      return Array.isArray(c.value) && c.value.includes(v);
  }
}

/** The channels a stored preference mutes for a category; anything malformed there mutes nothing. */
export function mutedChannels(muted: unknown, category: string): Channel[] {
  const entry =
    muted !== null && typeof muted === 'object' && !Array.isArray(muted)
      ? (muted as Record<string, unknown>)[category]
      : undefined;
  return Array.isArray(entry) ? entry.filter((c): c is Channel => (CHANNELS as readonly unknown[]).includes(c)) : [];
}

/**
 * Postgres errors that say "try the whole thing again" (serialization, deadlock, cancel, lost connection,
 * out of resources): they fail the routing job, which is retried, rather than one recipient for good.
 */
const transient = (error: unknown) => /^(40|08|53|57)/.test(String((error as { code?: unknown }).code ?? ''));

/** Minutes since midnight of `date` in a time zone. */
const minutesIn = (date: Date, timeZone: string) => {
  const [h, m] = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .format(date)
    .split(':')
    .map(Number);
  return h * 60 + m;
};
const toMinutes = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));

export function inQuietHours(now: Date, timeZone: string, start: string | null, end: string | null): boolean {
  if (!start || !end) return false;
  const t = minutesIn(now, timeZone);
  const s = toMinutes(start);
  const e = toMinutes(end);
  return s <= e ? t >= s && t < e : t >= s || t < e;
}

/**
 * Decides who hears about an event and on which channels — rules, recipient preferences, quiet hours,
 * storm control — and records one notification per recipient and one delivery per channel.
 * Runs in the listener's transaction; it never sends anything itself. Each recipient is routed in a
 * savepoint: a failure for one (their broken data) is recorded as their `unroutable` delivery, told to the
 * tenant's admins, and the others are still notified.
 */
@Injectable()
export class NotificationRouter {
  private readonly logger = new Logger(NotificationRouter.name);

  constructor(private readonly config: AppConfig) {}

  notificationFor(event: EventEnvelope): WarehouseNotification | null {
    const Kind = NOTIFICATIONS_BY_EVENT[event.name];
    return Kind ? new Kind(event) : null;
  }

  async route(m: EntityManager, event: EventEnvelope): Promise<QueuedDelivery[]> {
    const notification = this.notificationFor(event);
    if (!notification) return [];
    const own: Rule[] = await m.query(
      `SELECT conditions, min_severity, recipient_users, recipient_roles, channels
       FROM notification_rules
       WHERE tenant_id = $1 AND event_name = $2 AND enabled`,
      [event.tenantId, event.name],
    );
    const rules = (own.length ? own : [defaultRule(notification)]).filter(
      (r) =>
        SEVERITY_RANK[notification.severity] >= SEVERITY_RANK[r.min_severity] &&
        r.conditions.every((c) => conditionHolds(event.payload, c)),
    );
    const wanted = new Map<string, Set<Channel>>();
    for (const rule of rules) {
      const users: { id: string }[] = await m.query(
        `SELECT id FROM users WHERE tenant_id = $1 AND NOT disabled AND (id = ANY($2::uuid[]) OR role = ANY($3))
           AND (role = 'admin' OR $4::text IS NULL OR $4 = ANY(warehouses))`,
        [event.tenantId, rule.recipient_users, rule.recipient_roles, event.warehouseId],
      );
      for (const u of users) {
        const set = wanted.get(u.id) ?? new Set<Channel>();
        for (const c of rule.channels) set.add(c);
        wanted.set(u.id, set);
      }
    }
    // Rendering depends on the event only: if it fails, the whole routing fails (and dead-letters), not each recipient.
    const rendered = notification.render();
    const queued: QueuedDelivery[] = [];
    for (const [userId, ruleChannels] of wanted) {
      await m.query('SAVEPOINT route_recipient');
      try {
        queued.push(...(await this.notify(m, notification, rendered, userId, ruleChannels)));
        await m.query('RELEASE SAVEPOINT route_recipient');
      } catch (error) {
        if (transient(error)) throw error;
        await m.query('ROLLBACK TO SAVEPOINT route_recipient');
        await m.query('RELEASE SAVEPOINT route_recipient');
        const reason = `could not route to this recipient: ${(error as Error).message}`;
        this.logger.warn(
          {
            eventId: event.id,
            event: event.name,
            tenantId: event.tenantId,
            userId,
            notification: notification.kind,
            error: (error as Error).message,
          },
          'notification routing failed for one recipient; the others are notified',
        );
        queued.push(...(await this.recordUnroutable(m, notification, rendered, userId, reason)));
      }
    }
    return queued;
  }

  private async notify(
    m: EntityManager,
    notification: WarehouseNotification,
    rendered: Rendered,
    userId: string,
    ruleChannels: Set<Channel>,
  ): Promise<QueuedDelivery[]> {
    const [row] = await m.query(
      `SELECT u.id, u.tenant_id, u.email, u.display_name, u.phone, u.role, u.time_zone,
              EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = u.id) AS has_push,
              coalesce(p.muted, '{}'::jsonb) AS muted,
              to_char(p.quiet_start, 'HH24:MI') AS quiet_start,
              to_char(p.quiet_end, 'HH24:MI') AS quiet_end,
              coalesce(p.email_digest, false) AS email_digest
       FROM users u
       LEFT JOIN notification_preferences p ON p.user_id = u.id
       WHERE u.id = $1`,
      [userId],
    );
    const recipient: Recipient = {
      id: row.id,
      tenantId: row.tenant_id,
      email: row.email,
      displayName: row.display_name,
      phone: row.phone,
      role: row.role,
      timeZone: row.time_zone,
      hasPush: row.has_push,
    };
    const event = notification.event;
    const decisions: { channel: Channel; status: 'queued' | 'skipped' | 'suppressed'; reason: string | null }[] = [];
    const muted = mutedChannels(row.muted, notification.category);
    const quiet =
      notification.severity !== 'critical' &&
      inQuietHours(new Date(), recipient.timeZone, row.quiet_start, row.quiet_end);
    for (const channel of notification.via(recipient).filter((c) => ruleChannels.has(c))) {
      if (muted.includes(channel))
        decisions.push({ channel, status: 'skipped', reason: `muted ${notification.category} on ${channel}` });
      else if (quiet && channel !== 'in_app')
        decisions.push({ channel, status: 'skipped', reason: 'quiet hours (only critical alerts break through)' });
      else decisions.push({ channel, status: 'queued', reason: null });
    }
    // Storm control: the same alert about the same thing reaches a recipient on a channel once per window.
    for (const d of decisions.filter((x) => x.status === 'queued')) {
      const [claimed] = await m.query(
        `INSERT INTO notification_dedup (user_id, channel, dedup_key, last_sent_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (user_id, channel, dedup_key) DO UPDATE SET last_sent_at = now()
           WHERE notification_dedup.last_sent_at < now() - make_interval(secs => $4)
         RETURNING last_sent_at`,
        [userId, d.channel, notification.dedupKey(), this.config.NOTIFY_DEDUP_WINDOW_S],
      );
      if (!claimed)
        Object.assign(d, {
          status: 'suppressed',
          reason: `same alert already sent within ${this.config.NOTIFY_DEDUP_WINDOW_S} s`,
        });
    }
    if (!decisions.some((d) => d.status === 'queued')) return [];
    const id = uuidv7();
    const inserted = await m.query(
      `INSERT INTO notifications (id, tenant_id, user_id, kind, category, severity, title, body, link, dedup_key, event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING id`,
      [
        id,
        event.tenantId,
        userId,
        notification.kind,
        notification.category,
        notification.severity,
        rendered.title,
        rendered.body,
        rendered.link,
        notification.dedupKey(),
        event.id,
      ],
    );
    if (!inserted.length) return [];
    const queued: QueuedDelivery[] = [];
    for (const d of decisions) {
      const deliveryId = uuidv7();
      await m.query(
        `INSERT INTO notification_deliveries (id, notification_id, tenant_id, user_id, channel, status, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [deliveryId, id, event.tenantId, userId, d.channel, d.status, d.reason],
      );
      if (d.status === 'queued') {
        const grouped =
          d.channel === 'sms' || (d.channel === 'email' && row.email_digest && notification.severity !== 'critical');
        queued.push({ id: deliveryId, userId, channel: d.channel, grouped });
      }
    }
    return queued;
  }

  /**
   * The record of a recipient routing could not handle: their notification with one `unroutable` delivery and
   * the reason, and an in-app notice to the tenant's admins (once per broken recipient per dedup window).
   */
  private async recordUnroutable(
    m: EntityManager,
    notification: WarehouseNotification,
    rendered: Rendered,
    userId: string,
    reason: string,
  ): Promise<QueuedDelivery[]> {
    const event = notification.event;
    const id = uuidv7();
    const inserted = await m.query(
      `INSERT INTO notifications (id, tenant_id, user_id, kind, category, severity, title, body, link, dedup_key, event_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        id,
        event.tenantId,
        userId,
        notification.kind,
        notification.category,
        notification.severity,
        rendered.title,
        rendered.body,
        rendered.link,
        notification.dedupKey(),
        event.id,
      ],
    );
    if (!inserted.length) return [];
    await m.query(
      `INSERT INTO notification_deliveries (id, notification_id, tenant_id, user_id, channel, status, reason)
       VALUES ($1, $2, $3, $4, NULL, 'unroutable', $5)`,
      [uuidv7(), id, event.tenantId, userId, reason],
    );
    const [who] = await m.query(`SELECT email FROM users WHERE id = $1`, [userId]);
    const admins: { id: string }[] = await m.query(
      `SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin' AND NOT disabled`,
      [event.tenantId],
    );
    const queued: QueuedDelivery[] = [];
    for (const admin of admins) {
      const [claimed] = await m.query(
        `INSERT INTO notification_dedup (user_id, channel, dedup_key, last_sent_at) VALUES ($1, 'in_app', $2, now())
         ON CONFLICT (user_id, channel, dedup_key) DO UPDATE SET last_sent_at = now()
           WHERE notification_dedup.last_sent_at < now() - make_interval(secs => $3)
         RETURNING last_sent_at`,
        [admin.id, `unroutable:${userId}`, this.config.NOTIFY_DEDUP_WINDOW_S],
      );
      if (!claimed) continue;
      const noticeId = uuidv7();
      const deliveryId = uuidv7();
      await m.query(
        `INSERT INTO notifications (id, tenant_id, user_id, kind, category, severity, title, body, dedup_key)
         VALUES ($1, $2, $3, 'notification_unroutable', 'system', 'warning', $4, $5, $6)`,
        [
          noticeId,
          event.tenantId,
          admin.id,
          `An alert could not reach ${who?.email ?? userId}`,
          `"${rendered.title}" was not routed to ${who?.email ?? userId} (${reason}); everyone else was notified. ` +
            'Check their notification preferences.',
          `unroutable:${userId}`,
        ],
      );
      await m.query(
        `INSERT INTO notification_deliveries (id, notification_id, tenant_id, user_id, channel, status)
         VALUES ($1, $2, $3, $4, 'in_app', 'queued')`,
        [deliveryId, noticeId, event.tenantId, admin.id],
      );
      queued.push({ id: deliveryId, userId: admin.id, channel: 'in_app', grouped: false });
    }
    return queued;
  }
}
