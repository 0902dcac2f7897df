import { Inject, Injectable } from '@nestjs/common';
import { SOCKET_EMITTER, type SocketEmitter } from '@wms/events';
import type { Recipient, StoredNotification } from '../notifications/notification.js';
import type { NotificationChannel } from './channel.js';

/** Persistent contract: the socket.io room of one person, and the message name dashboards listen to. */
export const userRoom = (tenantId: string, userId: string) => `tenant:${tenantId}:user:${userId}`;
export const NOTIFICATION_MESSAGE = 'notification';

/** The inbox row is already stored; this pushes it live to the person's open dashboards. */
@Injectable()
export class InAppChannel implements NotificationChannel {
  readonly kind = 'in_app';

  constructor(@Inject(SOCKET_EMITTER) private readonly emitter: SocketEmitter) {}

  unavailable(): null {
    return null;
  }

  async send(recipient: Recipient, items: StoredNotification[]): Promise<null> {
    for (const n of items) this.emitter.to(userRoom(recipient.tenantId, recipient.id)).emit(NOTIFICATION_MESSAGE, n);
    return null;
  }
}
