import type { Recipient, StoredNotification } from '../notifications/notification.js';

/** A delivery failure; `permanent` ones (invalid number, gone subscription) are not retried. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** One way to reach a person. `send` returns the provider's message id, if any. */
export interface NotificationChannel {
  readonly kind: 'in_app' | 'email' | 'sms' | 'push';
  /** Why this channel cannot send at all (not configured), or null. */
  unavailable(): string | null;
  send(recipient: Recipient, items: StoredNotification[]): Promise<string | null>;
}
