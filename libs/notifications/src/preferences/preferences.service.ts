import { Injectable } from '@nestjs/common';
import { EventsConfig } from '@wms/events';
import { DomainError, OutboundUrlPolicy, unitOfWork, UsersRepository } from '@wms/events';
import { createECDH } from 'node:crypto';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { type Preferences, RecipientsRepository } from '../recipients/recipients.repository.js';

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
    private readonly recipients: RecipientsRepository,
    private readonly users: UsersRepository,
    config: EventsConfig,
  ) {
    this.outbound = new OutboundUrlPolicy(config.OUTBOUND_ALLOW_PRIVATE_NETWORKS);
  }

  async get(userId: string): Promise<Preferences & { phone: string | null; timeZone: string }> {
    const { recipient, preferences } = await this.recipients.withPreferences(userId);
    return { phone: recipient.phone, timeZone: recipient.timeZone, ...preferences };
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
    const { phone, timeZone } = prefs;
    await unitOfWork(this.db, async (m) => {
      await this.recipients.savePreferences(userId, prefs, m);
      if (phone !== undefined || timeZone !== undefined) await this.users.setContact(userId, { phone, timeZone }, m);
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
    const id = await this.recipients.savePushSubscription({
      id: uuidv7(),
      tenantId,
      userId,
      endpoint: input.endpoint,
      p256dh: input.keys.p256dh,
      auth: input.keys.auth,
    });
    if (!id) {
      throw new DomainError('PUSH.ENDPOINT_TAKEN', 'endpoint is already registered by someone else', 'conflict', [
        { field: 'endpoint', reason: 'is already registered by someone else' },
      ]);
    }
    return { id };
  }

  unsubscribe(userId: string, id: string): Promise<void> {
    return this.recipients.removePushSubscription(userId, id);
  }
}
