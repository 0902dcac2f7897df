import { Injectable } from '@nestjs/common';
import { declareExempt, UsersRepository } from '@wms/events';
import { DataSource, type EntityManager } from 'typeorm';
import type { Category, Channel, Recipient } from '../notifications/notification.js';

export interface Preferences {
  /** Channels turned off per category, e.g. { stock: ['sms'] }. */
  muted: Partial<Record<Category, Channel[]>>;
  /** HH:MM in the person's time zone; non-critical alerts reach only the in-app inbox in between. */
  quietStart: string | null;
  quietEnd: string | null;
  emailDigest: boolean;
}

export interface PushSubscription {
  id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface NewPushSubscription extends PushSubscription {
  tenantId: string;
  userId: string;
}

interface PreferencesRow {
  muted: Preferences['muted'];
  quiet_start: string | null;
  quiet_end: string | null;
  email_digest: boolean;
  has_push: boolean;
}

declareExempt('notification_preferences', 'one row per person: their choices');
declareExempt(
  'push_subscriptions',
  'one per browser a person subscribed; removed when they unsubscribe or the push service answers 404/410',
);

/**
 * Who a person is to notify, and how: their contact details (asked of `UsersRepository`), their push
 * subscriptions and their notification preferences. Owns `notification_preferences` and `push_subscriptions`.
 */
@Injectable()
export class RecipientsRepository {
  constructor(
    private readonly db: DataSource,
    private readonly users: UsersRepository,
  ) {}

  /** The person as channels address them; throws for someone who does not exist. */
  async recipient(userId: string, m: EntityManager = this.db.manager): Promise<Recipient> {
    return (await this.withPreferences(userId, m)).recipient;
  }

  /** The person with the preferences routing applies (defaults when they never saved any). */
  async withPreferences(
    userId: string,
    m: EntityManager = this.db.manager,
  ): Promise<{ recipient: Recipient; preferences: Preferences }> {
    const contact = await this.users.contact(userId, m);
    if (!contact) throw new Error(`no person ${userId}`);
    const { has_push: hasPush, ...preferences } = await this.preferencesRow(userId, m);
    return {
      recipient: { ...contact, hasPush },
      preferences: {
        muted: preferences.muted,
        quietStart: preferences.quiet_start,
        quietEnd: preferences.quiet_end,
        emailDigest: preferences.email_digest,
      },
    };
  }

  async savePreferences(userId: string, prefs: Preferences, m: EntityManager = this.db.manager): Promise<void> {
    await m.query(
      `INSERT INTO notification_preferences (user_id, muted, quiet_start, quiet_end, email_digest)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (user_id) DO UPDATE
       SET muted = $2, quiet_start = $3, quiet_end = $4, email_digest = $5`,
      [userId, JSON.stringify(prefs.muted), prefs.quietStart, prefs.quietEnd, prefs.emailDigest],
    );
  }

  /** Which of `userIds` chose the email digest. */
  async withEmailDigest(userIds: string[]): Promise<Set<string>> {
    const rows: { user_id: string }[] = await this.db.query(
      `SELECT user_id
       FROM notification_preferences
       WHERE user_id = ANY($1::uuid[])
         AND email_digest`,
      [userIds],
    );
    return new Set(rows.map((r) => r.user_id));
  }

  pushSubscriptions(userId: string): Promise<PushSubscription[]> {
    return this.db.query(
      `SELECT id, endpoint, p256dh, auth
       FROM push_subscriptions
       WHERE user_id = $1`,
      [userId],
    );
  }

  /**
   * Stores a subscription, or updates the keys of the person's own endpoint; the id of the stored row, or null
   * when the endpoint belongs to someone else.
   */
  async savePushSubscription(s: NewPushSubscription): Promise<string | null> {
    const [row]: { id: string }[] = await this.db.query(
      `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (endpoint) DO UPDATE
       SET p256dh = $5, auth = $6
       WHERE push_subscriptions.user_id = $3
       RETURNING id`,
      [s.id, s.tenantId, s.userId, s.endpoint, s.p256dh, s.auth],
    );
    return row?.id ?? null;
  }

  async removePushSubscription(userId: string, id: string): Promise<void> {
    await this.db.query(
      `DELETE FROM push_subscriptions
       WHERE id = $1
         AND user_id = $2`,
      [id, userId],
    );
  }

  /** The push service said the subscription is gone. */
  async forgetPushSubscription(id: string): Promise<void> {
    await this.db.query(
      `DELETE FROM push_subscriptions
       WHERE id = $1`,
      [id],
    );
  }

  private async preferencesRow(userId: string, m: EntityManager): Promise<PreferencesRow> {
    const [row]: PreferencesRow[] = await m.query(
      `SELECT coalesce(p.muted, '{}'::jsonb) AS muted,
              to_char(p.quiet_start, 'HH24:MI') AS quiet_start,
              to_char(p.quiet_end, 'HH24:MI') AS quiet_end,
              coalesce(p.email_digest, false) AS email_digest,
              EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = $1) AS has_push
       FROM (SELECT $1::uuid AS user_id) me
       LEFT JOIN notification_preferences p ON p.user_id = me.user_id`,
      [userId],
    );
    return row;
  }
}
