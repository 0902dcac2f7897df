import { BullModule } from '@nestjs/bullmq';
import { NotificationsConfig } from './notifications-config.js';
import { DynamicModule, Module } from '@nestjs/common';
import { EmailChannel } from './channels/email.channel.js';
import { InAppChannel } from './channels/in-app.channel.js';
import { PushChannel } from './channels/push.channel.js';
import { SmsChannel } from './channels/sms.channel.js';
import { DeliveryService, NOTIFICATIONS_QUEUE } from './delivery/delivery.service.js';
import { SmsBudgetRepository } from './delivery/sms-budget.repository.js';
import { InboxService } from './inbox/inbox.service.js';
import { NotificationsRepository } from './notifications/notifications.repository.js';
import { PreferencesService } from './preferences/preferences.service.js';
import { RecipientsRepository } from './recipients/recipients.repository.js';
import { NotificationDedupRepository } from './routing/notification-dedup.repository.js';
import { NotificationRouter } from './routing/notification-router.service.js';
import { NotificationRulesRepository } from './routing/notification-rules.repository.js';
import { NotificationRulesService } from './routing/notification-rules.service.js';
import { RouteNotificationsWhenEventStored } from './routing/route-notifications-when-event-stored.listener.js';

const providers = [
  RecipientsRepository,
  NotificationsRepository,
  NotificationRulesRepository,
  NotificationDedupRepository,
  SmsBudgetRepository,
  InAppChannel,
  EmailChannel,
  SmsChannel,
  PushChannel,
  DeliveryService,
  NotificationRouter,
  NotificationRulesService,
  RouteNotificationsWhenEventStored,
  InboxService,
  PreferencesService,
];

/** Notifications: routing by rules, preferences and storm control; in-app, email, SMS and push channels. */
@Module({})
export class NotificationsModule {
  static forRoot(config: NotificationsConfig): DynamicModule {
    return {
      module: NotificationsModule,
      imports: [
        BullModule.registerQueue({
          name: NOTIFICATIONS_QUEUE,
          defaultJobOptions: {
            attempts: config.DELIVERY_ATTEMPTS,
            backoff: { type: 'exponential', delay: config.DELIVERY_BACKOFF_MS },
            removeOnComplete: { count: 1000 },
            removeOnFail: { count: 5000 },
          },
        }),
      ],
      providers: [{ provide: NotificationsConfig, useValue: config }, ...providers],
      exports: [NotificationsConfig, ...providers, BullModule],
    };
  }
}
