import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { changedRows } from '../database/changed-rows.js';
import { EventsConfig } from '../config/events-config.js';
import { declareLifetime } from '../retention/table-lifetimes.js';
import { countHandledSql } from '../rollups/rollups.repository.js';

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

  /**
   * Takes the receipt in the listener's transaction; false when the listener had already handled the event. The
   * same statement counts the publish → handled latency in the rollups, so it counts once per listener and event,
   * and not at all when the listener throws (its transaction, receipt and count roll back together).
   */
  async claim(m: EntityManager, listener: string, event: EventEnvelope): Promise<boolean> {
    const claimed: unknown[] = await m.query(
      `WITH claimed AS (
         INSERT INTO listener_receipts (listener, event_id, tenant_id, recorded_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING
         RETURNING listener, tenant_id, recorded_at, handled_at
       )${countHandledSql('claimed', '$5::text')}
       SELECT listener FROM claimed`,
      [listener, event.id, event.tenantId, event.recordedAt, event.warehouseId ?? ''],
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
}
