import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { NotificationsConfig } from '../notifications-config.js';

import nodemailer, { type Transporter } from 'nodemailer';
import { renderEmail, type Recipient, type StoredNotification } from '../notifications/notification.js';
import { DeliveryError, type NotificationChannel } from './channel.js';

/** Email through nodemailer over SMTP (SMTP_URL). SMTP 5xx answers are permanent; 4xx and network errors are retried. */
@Injectable()
export class EmailChannel implements NotificationChannel, OnApplicationShutdown {
  readonly kind = 'email';
  private readonly transport: Transporter | null;

  constructor(private readonly config: NotificationsConfig) {
    this.transport = config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : null;
  }

  unavailable(): string | null {
    return this.transport ? null : 'email is not configured (SMTP_URL)';
  }

  async send(recipient: Recipient, items: StoredNotification[]): Promise<string | null> {
    const mail = renderEmail(items);
    try {
      const info = await this.transport!.sendMail({
        from: this.config.MAIL_FROM,
        to: `${recipient.displayName} <${recipient.email}>`,
        ...mail,
      });
      return info.messageId ?? null;
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      throw new DeliveryError(`SMTP: ${(error as Error).message}`, code !== undefined && code >= 500);
    }
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }
}
