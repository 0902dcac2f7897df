import { Injectable } from '@nestjs/common';
import { type EventEnvelope, type EventName, QueuedListener } from '@wms/events';
import type { EntityManager } from 'typeorm';
import { DeliveryService } from '../delivery/delivery.service.js';
import { NOTIFIABLE_EVENTS } from '../notifications/warehouse-notifications.js';
import { NotificationRouter } from './notification-router.service.js';

/**
 * Routing and delivery are separate jobs: this decides who gets what (once per event, in its own
 * transaction), and only after it commits are the deliveries queued. Delivering never routes again.
 */
@Injectable()
export class RouteNotificationsWhenEventStored {
  constructor(
    private readonly router: NotificationRouter,
    private readonly deliveries: DeliveryService,
  ) {}

  @QueuedListener({ name: 'route-notifications-when-event-stored', events: NOTIFIABLE_EVENTS as EventName[] })
  async route(event: EventEnvelope, manager: EntityManager) {
    const queued = await this.router.route(manager, event);
    return () => this.deliveries.enqueue(queued);
  }
}
