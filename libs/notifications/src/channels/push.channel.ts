import { Injectable } from '@nestjs/common';
import { EventsConfig, OUTBOUND_REFUSED, OutboundUrlPolicy } from '@wms/events';
import { NotificationsConfig } from '../notifications-config.js';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import webpush from 'web-push';
import { RecipientsRepository } from '../recipients/recipients.repository.js';
import { renderPush, type Recipient, type StoredNotification } from '../notifications/notification.js';
import { DeliveryError, type NotificationChannel } from './channel.js';

/**
 * Web push (VAPID) to every browser the person subscribed. A 404/410 answer removes that subscription.
 * Endpoints are user input: the outbound URL policy is applied again here, and the agent's lookup refuses a
 * name that now resolves to an internal address (DNS rebinding).
 */
@Injectable()
export class PushChannel implements NotificationChannel {
  readonly kind = 'push';
  private readonly outbound: OutboundUrlPolicy;
  private readonly agent: https.Agent;

  constructor(
    private readonly config: NotificationsConfig,
    events: EventsConfig,
    private readonly recipients: RecipientsRepository,
  ) {
    this.outbound = new OutboundUrlPolicy(events.OUTBOUND_ALLOW_PRIVATE_NETWORKS);
    this.agent = new https.Agent({
      lookup: this.outbound.lookup,
      ...(config.PUSH_TLS_CA_FILE ? { ca: readFileSync(config.PUSH_TLS_CA_FILE) } : {}),
    });
  }

  unavailable(): string | null {
    return this.config.VAPID_PUBLIC_KEY && this.config.VAPID_PRIVATE_KEY
      ? null
      : 'push is not configured (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY)';
  }

  async send(recipient: Recipient, items: StoredNotification[]): Promise<string | null> {
    const subscriptions = await this.recipients.pushSubscriptions(recipient.id);
    if (!subscriptions.length) throw new DeliveryError('the recipient has no push subscription', true);
    const failures: DeliveryError[] = [];
    for (const s of subscriptions) {
      const refused = this.outbound.refusal(s.endpoint);
      if (refused) {
        failures.push(...items.map(() => new DeliveryError(`push endpoint refused: it ${refused}`, true)));
        continue;
      }
      for (const n of items) {
        try {
          await webpush.sendNotification(
            { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } },
            JSON.stringify(renderPush(n)),
            {
              vapidDetails: {
                subject: this.config.VAPID_SUBJECT,
                publicKey: this.config.VAPID_PUBLIC_KEY!,
                privateKey: this.config.VAPID_PRIVATE_KEY!,
              },
              TTL: 3600,
              timeout: 10_000,
              agent: this.agent,
            },
          );
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === OUTBOUND_REFUSED) {
            failures.push(new DeliveryError(`push endpoint refused: ${(error as Error).message}`, true));
            continue;
          }
          const status = (error as { statusCode?: number }).statusCode;
          if (status === 404 || status === 410) await this.recipients.forgetPushSubscription(s.id);
          failures.push(
            new DeliveryError(
              `push ${status ?? ''}: ${(error as Error).message}`,
              status !== undefined && status >= 400 && status < 500 && status !== 429,
            ),
          );
        }
      }
    }
    // Delivered to at least one browser, or every failure is final: no retry.
    const sent = subscriptions.length * items.length - failures.length;
    if (sent === 0 && failures.length) throw failures.find((f) => !f.permanent) ?? failures[0];
    return null;
  }
}
