import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { PERCENTILES, type Percentiles } from '../store/event-store.repository.js';

/** Owns `listener_receipts`: which queued listener has handled which event (each at most once). */
@Injectable()
export class ListenerReceiptsRepository {
  constructor(private readonly db: DataSource) {}

  /** Takes the receipt in the listener's transaction; false when the listener had already handled the event. */
  async claim(m: EntityManager, listener: string, eventId: string): Promise<boolean> {
    const claimed: unknown[] = await m.query(
      `INSERT INTO listener_receipts (listener, event_id)
       VALUES ($1, $2)
       ON CONFLICT DO NOTHING
       RETURNING listener`,
      [listener, eventId],
    );
    return claimed.length > 0;
  }

  /** How many of `eventIds` the listener has handled. */
  async handledCount(listener: string, eventIds: string[]): Promise<number> {
    const [{ n }]: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n
       FROM listener_receipts
       WHERE listener = $1 AND event_id = ANY($2::uuid[])`,
      [listener, eventIds],
    );
    return n;
  }

  /** Publish → handled latency per listener over the last five minutes, for one tenant's events. */
  async latencyByListener(tenantId: string): Promise<(Percentiles & { listener: string })[]> {
    return this.db.query(
      `SELECT r.listener, ${PERCENTILES}
       FROM (
         SELECT r.listener, extract(epoch FROM r.handled_at - e.recorded_at) * 1000 AS ms
         FROM listener_receipts r
         JOIN event_store e ON e.id = r.event_id
         WHERE r.handled_at > now() - interval '5 minutes' AND e.tenant_id = $1
       ) r
       GROUP BY r.listener`,
      [tenantId],
    );
  }
}
