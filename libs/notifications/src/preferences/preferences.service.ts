import { Injectable } from '@nestjs/common';
import { AppConfig, DomainError, OutboundUrlPolicy } from '@wms/events';
import { createECDH } from 'node:crypto';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Category, Channel } from '../notifications/notification.js';

export interface Preferences {
  /** Channels turned off per category, e.g. { stock: ['sms'] }. */
  muted: Partial<Record<Category, Channel[]>>;
  /** HH:MM in the person's time zone; non-critical alerts reach only the in-app inbox in between. */
  quietStart: string | null;
  quietEnd: string | null;
  emailDigest: boolean;
}

export interface PushSubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

const bad = (field: string, reason: string) =>
  new DomainError('PUSH.INVALID_SUBSCRIPTION', `${field} ${reason}`, 'invalid', [{ field, reason }]);

/** A person's notification preferences, contact details and push subscriptions. */
@Injectable()
export class PreferencesService {
  private readonly outbound: OutboundUrlPolicy;

  constructor(
    private readonly db: DataSource,
    config: AppConfig,
  ) {
    this.outbound = new OutboundUrlPolicy(config.OUTBOUND_ALLOW_PRIVATE_NETWORKS);
  }

  async get(userId: string): Promise<Preferences & { phone: string | null; timeZone: string }> {
    const [row] = await this.db.query(
      `SELECT u.phone, u.time_zone, coalesce(p.muted, '{}'::jsonb) AS muted, to_char(p.quiet_start, 'HH24:MI') AS quiet_start,
              to_char(p.quiet_end, 'HH24:MI') AS quiet_end, coalesce(p.email_digest, false) AS email_digest
       FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = $1`,
      [userId],
    );
    return {
      phone: row.phone,
      timeZone: row.time_zone,
      muted: row.muted,
      quietStart: row.quiet_start,
      quietEnd: row.quiet_end,
      emailDigest: row.email_digest,
    };
  }

  async set(userId: string, prefs: Preferences & { phone?: string | null; timeZone?: string }) {
    if ((prefs.quietStart === null) !== (prefs.quietEnd === null)) {
      throw new DomainError(
        'PREFERENCES.QUIET_HOURS',
        'quiet hours need both quietStart and quietEnd (or neither)',
        'invalid',
        [{ field: 'quietEnd', reason: 'set both or neither' }],
      );
    }
    await this.db.transaction(async (m) => {
      await m.query(
        `INSERT INTO notification_preferences (user_id, muted, quiet_start, quiet_end, email_digest) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET muted = $2, quiet_start = $3, quiet_end = $4, email_digest = $5`,
        [userId, JSON.stringify(prefs.muted), prefs.quietStart, prefs.quietEnd, prefs.emailDigest],
      );
      if (prefs.phone !== undefined) await m.query(`UPDATE users SET phone = $2 WHERE id = $1`, [userId, prefs.phone]);
      if (prefs.timeZone !== undefined)
        await m.query(`UPDATE users SET time_zone = $2 WHERE id = $1`, [userId, prefs.timeZone]);
    });
    return this.get(userId);
  }

  /**
   * Stores a browser's push subscription after checking its endpoint against the outbound URL policy and its keys
   * are a P-256 public key and a 16-byte secret. Re-registering one's own endpoint updates its keys (same id); an
   * endpoint belongs to the person who registered it first and never moves to anyone else.
   */
  async subscribe(tenantId: string, userId: string, input: PushSubscriptionInput): Promise<{ id: string }> {
    const p256dh = Buffer.from(input.keys.p256dh, 'base64url');
    if (p256dh.length !== 65 || p256dh[0] !== 0x04)
      throw bad('keys.p256dh', 'must be an uncompressed P-256 public key (65 bytes, base64url)');
    try {
      const probe = createECDH('prime256v1');
      probe.generateKeys();
      probe.computeSecret(p256dh);
    } catch {
      throw bad('keys.p256dh', 'is not a point on the P-256 curve');
    }
    if (Buffer.from(input.keys.auth, 'base64url').length !== 16)
      throw bad('keys.auth', 'must be a 16-byte secret (base64url)');
    const refused = await this.outbound.check(input.endpoint);
    if (refused)
      throw new DomainError('PUSH.ENDPOINT_REFUSED', `endpoint ${refused}`, 'invalid', [
        { field: 'endpoint', reason: refused },
      ]);
    const id = uuidv7();
    const [row] = await this.db.query(
      `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (endpoint) DO UPDATE SET p256dh = $5, auth = $6
         WHERE push_subscriptions.user_id = $3
       RETURNING id`,
      [id, tenantId, userId, input.endpoint, input.keys.p256dh, input.keys.auth],
    );
    if (!row) {
      throw new DomainError('PUSH.ENDPOINT_TAKEN', 'endpoint is already registered by someone else', 'conflict', [
        { field: 'endpoint', reason: 'is already registered by someone else' },
      ]);
    }
    return { id: row.id };
  }

  async unsubscribe(userId: string, id: string): Promise<void> {
    await this.db.query(`DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2`, [id, userId]);
  }
}
