import { EventsConfig } from '../config/events-config.js';
import { declareLifetime } from '../retention/table-lifetimes.js';

// Persistent contract: catch-up cursors point into event_feed (stored_xid, event_id); see eventFeedCursor below.
declareLifetime('event_feed', {
  lifetime: 'CATCH_UP_RETENTION_HOURS after the event was stored (a catch-up cursor older than that is refused)',
  expired: (settings) => ({
    where: `stored_at < now() - make_interval(hours => $1)`,
    params: [settings(EventsConfig).CATCH_UP_RETENTION_HOURS],
  }),
});

/**
 * A data-modifying CTE (`, fed AS (…)`) for the store's insert statement: one feed row per row of the CTE `stored`
 * (RETURNING id, tenant_id, warehouse_id). Its `stored_xid` is the storing transaction's id, which is what lets a
 * catch-up page stop before any transaction still in progress.
 */
export const feedStoredSql = (stored: string) => `,
  fed AS (
    INSERT INTO event_feed (tenant_id, event_id, warehouse_id)
    SELECT tenant_id, id, warehouse_id FROM ${stored}
  )`;
