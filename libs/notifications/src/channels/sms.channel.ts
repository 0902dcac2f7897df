import { Injectable } from '@nestjs/common';
import { NotificationsConfig } from '../notifications-config.js';

import twilio from 'twilio';
import { renderSms, type Recipient, type StoredNotification } from '../notifications/notification.js';
import { DeliveryError, type NotificationChannel } from './channel.js';

type RequestClient = InstanceType<typeof twilio.RequestClient>;
type RequestOptions = Parameters<RequestClient['request']>[0];

/** Sends the SDK's requests to another base URL (a stand-in of Twilio's API); everything else is the SDK's own. */
class RedirectingRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string) {
    super();
  }

  override request<T>(opts: RequestOptions & { uri: string }) {
    const url = new URL(opts.uri);
    return super.request<T>({
      ...opts,
      uri: `${this.baseUrl.replace(/\/$/, '')}${url.pathname}${url.search}`,
    } as never);
  }
}

/** SMS through the twilio SDK. Twilio 4xx errors (21211 invalid number, …) are permanent; 429, 5xx and timeouts are retried. */
@Injectable()
export class SmsChannel implements NotificationChannel {
  readonly kind = 'sms';
  private readonly client: ReturnType<typeof twilio> | null;

  constructor(private readonly config: NotificationsConfig) {
    const { TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: token, TWILIO_FROM: from, TWILIO_API_BASE_URL: base } = config;
    this.client =
      sid && token && from
        ? twilio(sid, token, base ? { httpClient: new RedirectingRequestClient(base) as never } : {})
        : null;
  }

  unavailable(): string | null {
    return this.client ? null : 'SMS is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM)';
  }

  async send(recipient: Recipient, items: StoredNotification[]): Promise<string | null> {
    if (!recipient.phone) throw new DeliveryError('the recipient has no phone number', true);
    try {
      const message = await this.client!.messages.create({
        to: recipient.phone,
        from: this.config.TWILIO_FROM!,
        body: renderSms(items),
      });
      return message.sid;
    } catch (error) {
      const e = error as { status?: number; code?: number; message: string };
      const permanent = e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 429;
      throw new DeliveryError(`Twilio${e.code ? ` ${e.code}` : ''}: ${e.message}`, permanent);
    }
  }
}
