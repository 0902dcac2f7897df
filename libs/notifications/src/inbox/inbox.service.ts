import { Injectable } from '@nestjs/common';
import { changedRows, DomainError } from '@wms/events';
import { DataSource } from 'typeorm';

export interface InboxItem {
  id: string;
  kind: string;
  category: string;
  severity: string;
  title: string;
  body: string;
  link: string | null;
  createdAt: string;
  readAt: string | null;
}

/** The in-app inbox of one person: what was delivered to them in-app, newest first. */
@Injectable()
export class InboxService {
  constructor(private readonly db: DataSource) {}

  async list(userId: string, limit: number, unreadOnly: boolean): Promise<{ unread: number; items: InboxItem[] }> {
    const inApp = `EXISTS (
      SELECT 1
      FROM notification_deliveries d
      WHERE d.notification_id = n.id AND d.channel = 'in_app' AND d.status = 'sent'
    )`;
    const rows = await this.db.query(
      `SELECT id, kind, category, severity, title, body, link, created_at, read_at FROM notifications n
       WHERE user_id = $1 AND ${inApp} AND ($3 = false OR read_at IS NULL) ORDER BY created_at DESC LIMIT $2`,
      [userId, limit, unreadOnly],
    );
    const [{ n }] = await this.db.query(
      `SELECT count(*)::int AS n FROM notifications n WHERE user_id = $1 AND read_at IS NULL AND ${inApp}`,
      [userId],
    );
    return {
      unread: n,
      items: rows.map((r: Omit<InboxItem, 'createdAt' | 'readAt'> & { created_at: Date; read_at: Date | null }) => ({
        id: r.id,
        kind: r.kind,
        category: r.category,
        severity: r.severity,
        title: r.title,
        body: r.body,
        link: r.link,
        createdAt: r.created_at.toISOString(),
        readAt: r.read_at?.toISOString() ?? null,
      })),
    };
  }

  async markRead(userId: string, id: string): Promise<{ id: string; read: true }> {
    const rows = await changedRows(
      this.db.manager,
      `UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND user_id = $2 RETURNING id`,
      [id, userId],
    );
    if (!rows.length)
      throw new DomainError('NOTIFICATION.UNKNOWN', `no notification ${id} in your inbox`, 'not_found', [
        { field: 'id', reason: 'not in your inbox' },
      ]);
    return { id, read: true };
  }

  async markAllRead(userId: string): Promise<{ marked: number }> {
    const rows = await changedRows(
      this.db.manager,
      `UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL RETURNING id`,
      [userId],
    );
    return { marked: rows.length };
  }
}
