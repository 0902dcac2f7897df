import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { changedRows } from '../database/changed-rows.js';
import { EventsConfig } from '../config/events-config.js';
import { declareLifetime } from '../retention/table-lifetimes.js';
import { PERCENTILES, type Percentiles } from '../store/event-store.repository.js';

// A receipt is what keeps a replay from applying its event twice, so it outlives the retention only while its
// event is still in the store (an archived partition is dropped whole, possibly somewhat after the retention).
declareLifetime('listener_receipts', {
  lifetime: 'EVENT_RETENTION_DAYS after it was handled, once its event has left the event store',
  expired: (settings) => ({
    where: `handled_at < now() - make_interval(days => $1)
            AND NOT EXISTS (SELECT 1 FROM event_store e WHERE e.id = listener_receipts.event_id)`,
    params: [settings(EventsConfig).EVENT_RETENTION_DAYS],
  }),
});

/** Owns `listener_receipts`: which queued listener has handled which event (each at most once). */
@Injectable()
export class ListenerReceiptsRepository {
  constructor(private readonly db: DataSource) {}

  /** Takes the receipt in the listener's transaction; false when the listener had already handled the event. */
  async claim(m: EntityManager, listener: string, event: EventEnvelope): Promise<boolean> {
    const claimed: unknown[] = await m.query(
      `INSERT INTO listener_receipts (listener, event_id, tenant_id, recorded_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING
       RETURNING listener`,
      [listener, event.id, event.tenantId, event.recordedAt],
    );
    return claimed.length > 0;
  }

  /** Forgets that the listener handled `eventIds` (a rebuild), in the caller's transaction; how many it had. */
  async forget(m: EntityManager, listener: string, eventIds: string[]): Promise<number> {
    const forgotten = await changedRows(
      m,
      `DELETE FROM listener_receipts WHERE listener = $1 AND event_id = ANY($2::uuid[]) RETURNING event_id`,
      [listener, eventIds],
    );
    return forgotten.length;
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
      `SELECT listener, ${PERCENTILES}
       FROM (
         SELECT listener, extract(epoch FROM handled_at - recorded_at) * 1000 AS ms
         FROM listener_receipts
         WHERE tenant_id = $1 AND handled_at > now() - interval '5 minutes'
       ) r
       GROUP BY listener`,
      [tenantId],
    );
  }
}
