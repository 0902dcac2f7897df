import { Injectable } from '@nestjs/common';
import { declareLifetime } from '@wms/events';
import type { EntityManager } from 'typeorm';
import type { Channel } from '../notifications/notification.js';
import { NotificationsConfig } from '../notifications-config.js';

// A row older than the window suppresses nothing: claim() overwrites it. So it goes.
declareLifetime('notification_dedup', {
  lifetime: 'NOTIFY_DEDUP_WINDOW_S after the alert it remembers was sent',
  expired: (settings) => ({
    where: `last_sent_at < now() - make_interval(secs => $1)`,
    params: [settings(NotificationsConfig).NOTIFY_DEDUP_WINDOW_S],
  }),
});

/** Owns `notification_dedup`, storm control's memory: when the same alert last went to a person on a channel. */
@Injectable()
export class NotificationDedupRepository {
  /**
   * Claims sending alert `dedupKey` to the person on the channel now: false when it already went out within
   * the last `windowS` seconds (nothing changes then).
   */
  async claim(
    m: EntityManager,
    to: { userId: string; channel: Channel; dedupKey: string },
    windowS: number,
  ): Promise<boolean> {
    const claimed: unknown[] = await m.query(
      `INSERT INTO notification_dedup (user_id, channel, dedup_key, last_sent_at)
       VALUES ($1, $2, $3, now())
       ON CONFLICT (user_id, channel, dedup_key) DO UPDATE
       SET last_sent_at = now()
       WHERE notification_dedup.last_sent_at < now() - make_interval(secs => $4)
       RETURNING last_sent_at`,
      [to.userId, to.channel, to.dedupKey, windowS],
    );
    return claimed.length > 0;
  }
}
