import { Injectable, Logger } from '@nestjs/common';
import { NotificationsConfig } from '../notifications-config.js';
import { type EventEnvelope, UsersRepository } from '@wms/events';
import type { EntityManager } from 'typeorm';
import { SmsBudgetRepository } from '../delivery/sms-budget.repository.js';
import {
  type Channel,
  CHANNELS,
  deliveredGrouped,
  type Rendered,
  SEVERITY_RANK,
  type WarehouseNotification,
} from '../notifications/notification.js';
import {
  type DeliveryStatus,
  type NewNotification,
  NotificationsRepository,
} from '../notifications/notifications.repository.js';
import { NOTIFICATIONS_BY_EVENT } from '../notifications/warehouse-notifications.js';
import { RecipientsRepository } from '../recipients/recipients.repository.js';
import { NotificationDedupRepository } from './notification-dedup.repository.js';
import { type Condition, NotificationRulesRepository, type RoutingRule } from './notification-rules.repository.js';

/** Where a notification goes when the tenant has no rule of its own for its event: its default roles, every channel. */
export const defaultRule = (notification: WarehouseNotification): RoutingRule => ({
  conditions: [],
  minSeverity: 'info',
  recipientUsers: [],
  recipientRoles: notification.defaultRoles(),
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

/** An in-app notice of the system to a tenant's admins. */
type AdminNotice = Pick<NewNotification, 'kind' | 'title' | 'body' | 'dedupKey'>;

interface Decision {
  channel: Channel;
  status: Extract<DeliveryStatus, 'queued' | 'skipped' | 'suppressed'>;
  reason: string | null;
}

/**
 * Decides who hears about an event and on which channels — rules, recipient preferences, quiet hours,
 * storm control — and records one notification per recipient and one delivery per channel.
 * Runs in the listener's transaction; it never sends anything itself. Each recipient is routed in a
 * savepoint: a failure for one (their broken data) is recorded as their `unroutable` delivery, told to the
 * tenant's admins, and the others are still notified. When it queues an SMS after the tenant's daily SMS
 * budget is used up, it tells the admins (once a day); delivery holds those SMS back.
 */
@Injectable()
export class NotificationRouter {
  private readonly logger = new Logger(NotificationRouter.name);

  constructor(
    private readonly config: NotificationsConfig,
    private readonly rules: NotificationRulesRepository,
    private readonly users: UsersRepository,
    private readonly recipients: RecipientsRepository,
    private readonly notifications: NotificationsRepository,
    private readonly dedup: NotificationDedupRepository,
    private readonly smsBudget: SmsBudgetRepository,
  ) {}

  notificationFor(event: EventEnvelope): WarehouseNotification | null {
    const Kind = NOTIFICATIONS_BY_EVENT[event.name];
    return Kind ? new Kind(event) : null;
  }

  async route(m: EntityManager, event: EventEnvelope): Promise<QueuedDelivery[]> {
    const notification = this.notificationFor(event);
    if (!notification) return [];
    const own = await this.rules.enabledFor(m, event.tenantId, event.name);
    const rules = (own.length ? own : [defaultRule(notification)]).filter(
      (r) =>
        SEVERITY_RANK[notification.severity] >= SEVERITY_RANK[r.minSeverity] &&
        r.conditions.every((c) => conditionHolds(event.payload, c)),
    );
    const wanted = new Map<string, Set<Channel>>();
    for (const rule of rules) {
      const who = { userIds: rule.recipientUsers, roles: rule.recipientRoles, warehouseId: event.warehouseId };
      for (const userId of await this.users.activeIdsFor(event.tenantId, who, m)) {
        const set = wanted.get(userId) ?? new Set<Channel>();
        for (const c of rule.channels) set.add(c);
        wanted.set(userId, set);
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
    if (queued.some((d) => d.channel === 'sms')) queued.push(...(await this.noticeSmsBudget(m, event.tenantId)));
    return queued;
  }

  private async notify(
    m: EntityManager,
    notification: WarehouseNotification,
    rendered: Rendered,
    userId: string,
    ruleChannels: Set<Channel>,
  ): Promise<QueuedDelivery[]> {
    const { recipient, preferences } = await this.recipients.withPreferences(userId, m);
    const decisions: Decision[] = [];
    const muted = mutedChannels(preferences.muted, notification.category);
    const quiet =
      notification.severity !== 'critical' &&
      inQuietHours(new Date(), recipient.timeZone, preferences.quietStart, preferences.quietEnd);
    for (const channel of notification.via(recipient).filter((c) => ruleChannels.has(c))) {
      if (muted.includes(channel))
        decisions.push({ channel, status: 'skipped', reason: `muted ${notification.category} on ${channel}` });
      else if (quiet && channel !== 'in_app')
        decisions.push({ channel, status: 'skipped', reason: 'quiet hours (only critical alerts break through)' });
      else decisions.push({ channel, status: 'queued', reason: null });
    }
    // Storm control: the same alert about the same thing reaches a recipient on a channel once per window.
    const windowS = this.config.NOTIFY_DEDUP_WINDOW_S;
    for (const d of decisions.filter((x) => x.status === 'queued')) {
      if (!(await this.dedup.claim(m, { userId, channel: d.channel, dedupKey: notification.dedupKey() }, windowS)))
        Object.assign(d, { status: 'suppressed', reason: `same alert already sent within ${windowS} s` });
    }
    if (!decisions.some((d) => d.status === 'queued')) return [];
    const notificationId = await this.notifications.record(m, this.aboutEvent(notification, rendered, userId));
    if (!notificationId) return [];
    const queued: QueuedDelivery[] = [];
    for (const d of decisions) {
      const delivery = { notificationId, tenantId: notification.event.tenantId, userId, ...d };
      const id = await this.notifications.addDelivery(m, delivery);
      if (d.status === 'queued') {
        const grouped = deliveredGrouped(d.channel, notification.severity, preferences.emailDigest);
        queued.push({ id, userId, channel: d.channel, grouped });
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
    const tenantId = notification.event.tenantId;
    const notificationId = await this.notifications.record(m, this.aboutEvent(notification, rendered, userId));
    if (!notificationId) return [];
    await this.notifications.addDelivery(m, {
      notificationId,
      tenantId,
      userId,
      channel: null,
      status: 'unroutable',
      reason,
    });
    const who = (await this.users.contact(userId, m))?.email ?? userId;
    const dedupKey = `unroutable:${userId}`;
    const notice: AdminNotice = {
      kind: 'notification_unroutable',
      title: `An alert could not reach ${who}`,
      body:
        `"${rendered.title}" was not routed to ${who} (${reason}); everyone else was notified. ` +
        'Check their notification preferences.',
      dedupKey,
    };
    const windowS = this.config.NOTIFY_DEDUP_WINDOW_S;
    return this.tellAdmins(m, tenantId, notice, (adminId) =>
      this.dedup.claim(m, { userId: adminId, channel: 'in_app', dedupKey }, windowS),
    );
  }

  /** Once a day, when the SMS just queued will be held back: the admins hear that the budget is used up. */
  private async noticeSmsBudget(m: EntityManager, tenantId: string): Promise<QueuedDelivery[]> {
    const budget = this.config.SMS_DAILY_BUDGET;
    if (!(await this.smsBudget.claimExhaustedNotice(m, tenantId, budget))) return [];
    return this.tellAdmins(m, tenantId, {
      kind: 'sms_budget_reached',
      title: 'SMS budget reached',
      body:
        `Today's ${budget} SMS are used up; further SMS alerts are held back until tomorrow ` +
        '(in-app and email still work).',
      dedupKey: `sms_budget:${tenantId}`,
    });
  }

  /** An in-app notice to each active admin of the tenant (for whom `once`, if given, says yes). */
  private async tellAdmins(
    m: EntityManager,
    tenantId: string,
    notice: AdminNotice,
    once?: (adminId: string) => Promise<boolean>,
  ): Promise<QueuedDelivery[]> {
    const queued: QueuedDelivery[] = [];
    for (const userId of await this.users.activeAdminIds(tenantId, m)) {
      if (once && !(await once(userId))) continue;
      const system = { category: 'system', severity: 'warning', link: null, eventId: null } as const;
      const notificationId = await this.notifications.record(m, { tenantId, userId, ...system, ...notice });
      if (!notificationId) continue;
      const delivery = { notificationId, tenantId, userId, channel: 'in_app', status: 'queued', reason: null } as const;
      queued.push({ id: await this.notifications.addDelivery(m, delivery), userId, channel: 'in_app', grouped: false });
    }
    return queued;
  }

  private aboutEvent(notification: WarehouseNotification, rendered: Rendered, userId: string): NewNotification {
    const { event, kind, category, severity } = notification;
    const about = { tenantId: event.tenantId, userId, kind, category, severity, eventId: event.id };
    return { ...about, ...rendered, dedupKey: notification.dedupKey() };
  }
}
