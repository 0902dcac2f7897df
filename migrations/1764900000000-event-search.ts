import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureKeysPartitions, eventPartitions } from '@wms/events';

/**
 * Search by business key and catch-up (libs/events/src/store/event-keys.ts, event-feed.ts):
 * - `event_keys`: one row per (event, business key) — SKU, order, ASN, carton, location, lot, tracking number as the
 *   catalog declares them — partitioned like the store, with one partition per store partition;
 * - `event_feed`: one row per stored event in the order it was stored (its storing transaction, then id), which a
 *   catch-up cursor pages through; kept CATCH_UP_RETENTION_HOURS;
 * - `dead_letters.keys`: the business keys of a dead letter's event, for the dead-letter search.
 * Events stored before this migration are given their keys by `npm run wms -- events:index-keys`.
 */
export class EventSearch1764900000000 implements MigrationInterface {
  name = 'EventSearch1764900000000';

  async up(q: QueryRunner): Promise<void> {
    // INCLUDE (warehouse_id): a reader limited to some warehouses is filtered in the index, without visiting events.
    await q.query(`
      CREATE TABLE event_keys (
        tenant_id text NOT NULL,
        key text NOT NULL,
        event_id uuid NOT NULL,
        warehouse_id text,
        PRIMARY KEY (tenant_id, key, event_id) INCLUDE (warehouse_id)
      ) PARTITION BY RANGE (event_id)`);
    await ensureKeysPartitions(q, await eventPartitions(q));
    // xid8 orders storing transactions; every one below the snapshot's xmin has ended, so a page that stops there
    // never skips an event a slower transaction is still storing (event-feed.ts).
    await q.query(`
      CREATE TABLE event_feed (
        tenant_id text NOT NULL,
        stored_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        event_id uuid NOT NULL,
        warehouse_id text,
        stored_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, stored_xid, event_id) INCLUDE (warehouse_id)
      )`);
    await q.query(`CREATE INDEX event_feed_stored_at_idx ON event_feed (stored_at)`);
    await q.query(`ALTER TABLE dead_letters ADD COLUMN keys text[] NOT NULL DEFAULT '{}'`);
    await q.query(`CREATE INDEX dead_letters_keys_idx ON dead_letters USING gin (keys)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX dead_letters_keys_idx`);
    await q.query(`ALTER TABLE dead_letters DROP COLUMN keys`);
    await q.query(`DROP TABLE event_feed`);
    await q.query(`DROP TABLE event_keys`);
  }
}
