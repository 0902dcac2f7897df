import { Injectable } from '@nestjs/common';
import { DomainError } from '@wms/events';
import { type InboxItem, NotificationsRepository } from '../notifications/notifications.repository.js';

/** The in-app inbox of one person: what was delivered to them in-app, newest first. */
@Injectable()
export class InboxService {
  constructor(private readonly notifications: NotificationsRepository) {}

  async list(userId: string, limit: number, unreadOnly: boolean): Promise<{ unread: number; items: InboxItem[] }> {
    const items = await this.notifications.inbox(userId, limit, unreadOnly);
    return { unread: await this.notifications.unreadCount(userId), items };
  }

  async markRead(userId: string, id: string): Promise<{ id: string; read: true }> {
    if (!(await this.notifications.markRead(userId, id)))
      throw new DomainError('NOTIFICATION.UNKNOWN', `no notification ${id} in your inbox`, 'not_found', [
        { field: 'id', reason: 'not in your inbox' },
      ]);
    return { id, read: true };
  }

  async markAllRead(userId: string): Promise<{ marked: number }> {
    return { marked: await this.notifications.markAllRead(userId) };
  }
}
