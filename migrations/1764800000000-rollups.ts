import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DAY_MS, dayStart, foldCountsSql, foldLatencySql, TIER_LIFETIME_DAYS, uuidV7Millis } from '@wms/events';

/**
 * The rollups (libs/events/src/rollups/): counters and latency histograms per minute, hour and day, and the deltas
 * the worker appends as it stores, handles and dead-letters, folded into them by the maintenance queue. The
 * existing history is counted here, one UTC day of event ids (one partition) per statement, each reading only its
 * partition through the primary key; it takes no lock that stops events being stored or read. It runs in this
 * migration's transaction, so a new worker (which cannot write deltas before the tables exist) never counts an
 * event twice; events a worker of the previous version stores while this runs are not counted — stop the workers
 * for the upgrade.
 */
export class Rollups1764800000000 implements MigrationInterface {
  name = 'Rollups1764800000000';

  async up(q: QueryRunner): Promise<void> {
    // Fixed log-spaced buckets, four per doubling: 0 is under 1 ms, k holds [2^((k-1)/4), 2^(k/4)) ms.
    await q.query(`
      CREATE FUNCTION rollup_latency_bucket(ms double precision) RETURNS smallint
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $$ SELECT CASE WHEN ms < 1 THEN 0 ELSE least(floor(ln(ms) / ln(2) * 4) + 1, 200) END::smallint $$`);
    // warehouse_id '' is a tenant-wide event (or a failed job without one), event_name '' a failed job of no event.
    await q.query(`
      CREATE TABLE rollup_counts (
        tier text NOT NULL CHECK (tier IN ('minute', 'hour', 'day')),
        at timestamptz NOT NULL,
        tenant_id text NOT NULL,
        warehouse_id text NOT NULL,
        event_name text NOT NULL,
        stored bigint NOT NULL,
        failed bigint NOT NULL,
        PRIMARY KEY (tenant_id, tier, at, warehouse_id, event_name)
      )`);
    // listener '' is publish → stored; a listener's name is publish → handled by it.
    await q.query(`
      CREATE TABLE rollup_latency (
        tier text NOT NULL CHECK (tier IN ('minute', 'hour', 'day')),
        at timestamptz NOT NULL,
        tenant_id text NOT NULL,
        warehouse_id text NOT NULL,
        listener text NOT NULL,
        bucket smallint NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (tenant_id, tier, at, listener, warehouse_id, bucket)
      )`);
    // Every tenant's rows of a time range: /metrics, and the pruning of each tier.
    await q.query(`CREATE INDEX rollup_counts_tier_at_idx ON rollup_counts (tier, at)`);
    await q.query(`CREATE INDEX rollup_latency_tier_at_idx ON rollup_latency (tier, at)`);
    await q.query(`
      CREATE TABLE rollup_count_deltas (
        at timestamptz NOT NULL,
        tenant_id text NOT NULL,
        warehouse_id text NOT NULL,
        event_name text NOT NULL,
        stored int NOT NULL,
        failed int NOT NULL
      )`);
    await q.query(`
      CREATE TABLE rollup_latency_deltas (
        at timestamptz NOT NULL,
        tenant_id text NOT NULL,
        warehouse_id text NOT NULL,
        listener text NOT NULL,
        bucket smallint NOT NULL,
        n int NOT NULL
      )`);
    await q.query(`CREATE INDEX rollup_count_deltas_tenant_at_idx ON rollup_count_deltas (tenant_id, at)`);
    await q.query(`CREATE INDEX rollup_latency_deltas_tenant_at_idx ON rollup_latency_deltas (tenant_id, at)`);
    // /metrics counts the open dead letters per queue: through this index, not a scan of every dead letter kept.
    await q.query(`CREATE INDEX dead_letters_open_queue_idx ON dead_letters (queue) WHERE status = 'open'`);
    await this.backfill(q);
  }

  private async backfill(q: QueryRunner): Promise<void> {
    const [{ first, last }] = await q.query(
      `SELECT (SELECT id FROM event_store ORDER BY id LIMIT 1)::text AS first,
              (SELECT id FROM event_store ORDER BY id DESC LIMIT 1)::text AS last`,
    );
    const listeners: string[] = (
      await q.query(
        // The distinct listeners through the primary key (a loose index scan), not a scan of every receipt.
        `WITH RECURSIVE l(listener) AS (
           SELECT min(listener) FROM listener_receipts
           UNION ALL
           SELECT (SELECT min(listener) FROM listener_receipts WHERE listener > l.listener) FROM l WHERE l.listener IS NOT NULL
         )
         SELECT listener FROM l WHERE listener IS NOT NULL`,
      )
    ).map((r: { listener: string }) => r.listener);
    if (first) {
      const oldest = dayStart(Date.now()) - TIER_LIFETIME_DAYS.day * DAY_MS;
      for (let day = Math.max(dayStart(uuidV7Millis(first)), oldest); day <= uuidV7Millis(last); day += DAY_MS) {
        const range = [new Date(day).toISOString(), new Date(day + DAY_MS).toISOString()];
        const ofDay = `e.id >= uuid_v7_floor($1::timestamptz) AND e.id < uuid_v7_floor($2::timestamptz)`;
        await q.query(
          foldCountsSql(`(
            SELECT date_trunc('minute', e.recorded_at, 'UTC') AS at, e.tenant_id, coalesce(e.warehouse_id, '') AS warehouse_id,
                   e.name AS event_name, count(*) AS stored, 0 AS failed
            FROM event_store e WHERE ${ofDay} GROUP BY 1, 2, 3, 4)`),
          range,
        );
        await q.query(
          foldLatencySql(`(
            SELECT date_trunc('minute', e.stored_at, 'UTC') AS at, e.tenant_id, coalesce(e.warehouse_id, '') AS warehouse_id,
                   '' AS listener, rollup_latency_bucket(extract(epoch FROM e.stored_at - e.recorded_at) * 1000) AS bucket,
                   count(*) AS n
            FROM event_store e WHERE ${ofDay} GROUP BY 1, 2, 3, 5)`),
          range,
        );
        // Receipts older than the receipt-latency migration have no recorded_at: they are not counted.
        if (listeners.length)
          await q.query(
            foldLatencySql(`(
              SELECT date_trunc('minute', r.handled_at, 'UTC') AS at, e.tenant_id, coalesce(e.warehouse_id, '') AS warehouse_id,
                     r.listener, rollup_latency_bucket(extract(epoch FROM r.handled_at - r.recorded_at) * 1000) AS bucket,
                     count(*) AS n
              FROM listener_receipts r JOIN event_store e ON e.id = r.event_id
              WHERE r.listener = ANY($3) AND r.event_id >= uuid_v7_floor($1::timestamptz)
                AND r.event_id < uuid_v7_floor($2::timestamptz) AND ${ofDay} AND r.recorded_at IS NOT NULL
              GROUP BY 1, 2, 3, 4, 5)`),
            [...range, listeners],
          );
      }
    }
    // A dead letter counts as one failure when it last failed.
    await q.query(
      foldCountsSql(`(
        SELECT date_trunc('minute', last_failed_at, 'UTC') AS at, tenant_id, coalesce(warehouse_id, '') AS warehouse_id,
               coalesce(event_name, '') AS event_name, 0 AS stored, count(*) AS failed
        FROM dead_letters
        WHERE tenant_id IS NOT NULL AND last_failed_at >= now() - make_interval(days => ${TIER_LIFETIME_DAYS.day})
        GROUP BY 1, 2, 3, 4)`),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS dead_letters_open_queue_idx`);
    for (const table of ['rollup_latency_deltas', 'rollup_count_deltas', 'rollup_latency', 'rollup_counts'])
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    await q.query(`DROP FUNCTION IF EXISTS rollup_latency_bucket(double precision)`);
  }
}
