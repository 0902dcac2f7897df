import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { SqlWhere, type TenantScope } from '../database/sql-where.js';
import { declareExempt } from '../retention/table-lifetimes.js';
import {
  type HistogramBucket,
  ROLLUP_TIERS,
  type RollupWindow,
  TIER_LIFETIME_DAYS,
  TIERS_SQL,
} from './rollup-tiers.js';

// Pruned per tier by their own prune-rollups job (minute tier 3 days, hour tier 90 days, day tier 5 years), and
// the deltas emptied by compaction every few seconds: each is a lifetime the generic pruner does not express.
for (const table of ['rollup_counts', 'rollup_latency'])
  declareExempt(table, 'pruned per tier by the prune-rollups job: minutes 3 days, hours 90 days, days 5 years');
for (const table of ['rollup_count_deltas', 'rollup_latency_deltas'])
  declareExempt(table, 'emptied by the compact-rollups job every 5 s');

/** Where a failure belongs: a dead letter's tenant, warehouse and event. */
export interface FailureKey {
  tenantId: string;
  warehouseId: string | null;
  eventName: string | null;
}

/** Events stored and failed per bucket of the window's tier and event name. */
export interface CountRow {
  /** The bucket's start, ISO-8601 (`2026-12-01T10:05:00Z`). */
  at: string;
  name: string;
  stored: number;
  failed: number;
}

/** Buckets of a latency histogram; `listener` '' is publish → stored, a listener's name publish → handled by it. */
export interface LatencyRow extends HistogramBucket {
  listener: string;
}

/**
 * SQL that adds minute rows `(at, tenant_id, warehouse_id, event_name, stored, failed)` from `source` (a query
 * or a CTE name) to every tier, skipping the buckets already past a tier's lifetime. Rows go in key order, so
 * two statements folding into the same rows wait for each other instead of deadlocking.
 */
export const foldCountsSql = (source: string) => `
  INSERT INTO rollup_counts AS r (tier, at, tenant_id, warehouse_id, event_name, stored, failed)
  SELECT t.tier, date_trunc(t.tier, s.at, 'UTC'), s.tenant_id, s.warehouse_id, s.event_name, sum(s.stored), sum(s.failed)
  FROM ${source} s CROSS JOIN ${TIERS_SQL}
  WHERE date_trunc(t.tier, s.at, 'UTC') >= now() - t.keep
  GROUP BY 3, 1, 2, 4, 5
  ORDER BY 3, 1, 2, 4, 5
  ON CONFLICT (tenant_id, tier, at, warehouse_id, event_name)
  DO UPDATE SET stored = r.stored + excluded.stored, failed = r.failed + excluded.failed`;

/** Like foldCountsSql, for minute rows `(at, tenant_id, warehouse_id, listener, bucket, n)` of latency histograms. */
export const foldLatencySql = (source: string) => `
  INSERT INTO rollup_latency AS r (tier, at, tenant_id, warehouse_id, listener, bucket, n)
  SELECT t.tier, date_trunc(t.tier, s.at, 'UTC'), s.tenant_id, s.warehouse_id, s.listener, s.bucket, sum(s.n)
  FROM ${source} s CROSS JOIN ${TIERS_SQL}
  WHERE date_trunc(t.tier, s.at, 'UTC') >= now() - t.keep
  GROUP BY 3, 1, 2, 5, 4, 6
  ORDER BY 3, 1, 2, 5, 4, 6
  ON CONFLICT (tenant_id, tier, at, listener, warehouse_id, bucket)
  DO UPDATE SET n = r.n + excluded.n`;

/**
 * Data-modifying CTEs (`, name AS (…)`) for the store's insert statement: they count the rows of the CTE `stored`
 * — the events that statement inserted, with its RETURNING (tenant_id, warehouse_id, name, recorded_at,
 * stored_at) — as deltas, and their publish → stored latency. In the insert's own statement: an event is counted
 * exactly when it is stored, and with one round trip (measured: scripts/rollup-writes.mjs).
 */
export const countStoredSql = (stored: string) => `,
  rollup_counted AS (
    INSERT INTO rollup_count_deltas (at, tenant_id, warehouse_id, event_name, stored, failed)
    SELECT date_trunc('minute', recorded_at, 'UTC'), tenant_id, coalesce(warehouse_id, ''), name, count(*), 0
    FROM ${stored} GROUP BY 1, 2, 3, 4
  ),
  rollup_timed AS (
    INSERT INTO rollup_latency_deltas (at, tenant_id, warehouse_id, listener, bucket, n)
    SELECT date_trunc('minute', stored_at, 'UTC'), tenant_id, coalesce(warehouse_id, ''), '',
           rollup_latency_bucket(extract(epoch FROM stored_at - recorded_at) * 1000), count(*)
    FROM ${stored} GROUP BY 1, 2, 3, 4, 5
  )`;

/**
 * Like countStoredSql, for the statement that takes a listener's receipt: counts the publish → handled latency of
 * the CTE `claimed` (RETURNING tenant_id, listener, recorded_at, handled_at) — nothing when the listener had
 * already handled the event. `warehouse` is the SQL of the event's warehouse ('' for none).
 */
export const countHandledSql = (claimed: string, warehouse: string) => `,
  rollup_timed AS (
    INSERT INTO rollup_latency_deltas (at, tenant_id, warehouse_id, listener, bucket, n)
    SELECT date_trunc('minute', handled_at, 'UTC'), tenant_id, ${warehouse}, listener,
           rollup_latency_bucket(extract(epoch FROM handled_at - recorded_at) * 1000), 1
    FROM ${claimed}
  )`;

/** Delta rows one compaction statement moves into the tiers. */
const COMPACT_BATCH = 20_000;
/** Tier rows one prune statement deletes. */
const PRUNE_BATCH = 5_000;

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

/** The scope of a rollup read; rows of tenant-wide events (and of jobs without one) have warehouse ''. */
const scoped = (s?: TenantScope) =>
  s
    ? new SqlWhere()
        .add('tenant_id = ?', s.tenantId)
        .add(`(warehouse_id = '' OR warehouse_id = ANY(?))`, s.warehouses === 'all' ? undefined : s.warehouses)
        .add('warehouse_id = ?', s.warehouseId)
    : new SqlWhere();

/**
 * Owns the rollups: `rollup_counts` and `rollup_latency` (one row per tier, bucket and key) and their deltas
 * (`rollup_count_deltas`, `rollup_latency_deltas`). Whoever stores (countStoredSql), handles (countHandledSql) or
 * dead-letters something appends a delta in its own statement or transaction — an insert that no concurrent batch waits for —, and
 * `compact()` (the maintenance queue, every few seconds) folds the deltas into the tiers. Reads add the deltas not
 * yet folded, in the same statement, so they are exact at any moment.
 */
@Injectable()
export class RollupsRepository {
  constructor(private readonly db: DataSource) {}

  /** Counts a job that landed in the dead-letter store at `at`, in the dead-letter store's transaction. */
  async recordFailure(m: EntityManager, key: FailureKey, at: Date): Promise<void> {
    await m.query(
      `INSERT INTO rollup_count_deltas (at, tenant_id, warehouse_id, event_name, stored, failed)
       VALUES (date_trunc('minute', $4::timestamptz, 'UTC'), $1, $2, $3, 0, 1)`,
      [key.tenantId, key.warehouseId ?? '', key.eventName ?? '', at],
    );
  }

  /**
   * Folds the deltas into the tiers, a batch per transaction; returns how many delta rows it folded. Runs once at
   * a time (an advisory lock; a second caller returns 0 at once), and a delta is deleted in the transaction that
   * adds it to the tiers, so a compaction killed half-way loses or repeats nothing.
   */
  async compact(): Promise<number> {
    let folded = 0;
    for (;;) {
      const moved = await this.db.transaction(async (m) => {
        const [{ locked }] = await m.query(
          `SELECT pg_try_advisory_xact_lock(hashtext('rollups compaction')) AS locked`,
        );
        if (!locked) return 0;
        const [counts] = await m.query(
          `WITH moved AS (
             DELETE FROM rollup_count_deltas
             WHERE ctid = ANY(ARRAY(SELECT ctid FROM rollup_count_deltas LIMIT ${COMPACT_BATCH}))
             RETURNING *
           ), folded AS (${foldCountsSql('moved')})
           SELECT count(*)::int AS n FROM moved`,
        );
        const [latency] = await m.query(
          `WITH moved AS (
             DELETE FROM rollup_latency_deltas
             WHERE ctid = ANY(ARRAY(SELECT ctid FROM rollup_latency_deltas LIMIT ${COMPACT_BATCH}))
             RETURNING *
           ), folded AS (${foldLatencySql('moved')})
           SELECT count(*)::int AS n FROM moved`,
        );
        return Math.max(counts.n as number, latency.n as number);
      });
      folded += moved;
      if (moved < COMPACT_BATCH) return folded;
    }
  }

  /** Deletes the tier rows past their tier's lifetime, in small batches; returns how many. */
  async prune(): Promise<number> {
    let pruned = 0;
    for (const table of ['rollup_counts', 'rollup_latency']) {
      for (const tier of ROLLUP_TIERS) {
        for (;;) {
          const [{ n }]: { n: number }[] = await this.db.query(
            `WITH pruned AS (
               DELETE FROM ${table}
               WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM ${table} WHERE tier = $1 AND at < now() - make_interval(days => $2) LIMIT ${PRUNE_BATCH}
               ))
               RETURNING 1
             )
             SELECT count(*)::int AS n FROM pruned`,
            [tier, TIER_LIFETIME_DAYS[tier]],
          );
          pruned += n;
          if (n < PRUNE_BATCH) break;
        }
      }
    }
    return pruned;
  }

  /** Every span of the window from `table`, and the deltas of the whole window not yet folded into it. */
  private spans(w: SqlWhere, window: RollupWindow, table: string, deltas: string, columns: string): string {
    const scope = w.sql;
    const branches = window.spans.map(
      (s) =>
        `SELECT ${columns} FROM ${table}
         WHERE ${scope} AND tier = ${w.param(s.tier)} AND at >= ${w.param(s.from)} AND at < ${w.param(s.to)}`,
    );
    branches.push(
      `SELECT ${columns} FROM ${deltas}
       WHERE ${scope} AND at >= ${w.param(window.from)} AND at < ${w.param(window.to)}`,
    );
    return branches.join('\n UNION ALL ');
  }

  /** Stored and failed per bucket of the window's tier and event name; every tenant without a scope. */
  async counts(window: RollupWindow, scope?: TenantScope): Promise<CountRow[]> {
    const w = scoped(scope);
    const union = this.spans(w, window, 'rollup_counts', 'rollup_count_deltas', 'at, event_name, stored, failed');
    const rows: { at: Date; name: string; stored: string; failed: string }[] = await this.db.query(
      `SELECT date_trunc(${w.param(window.tier)}, at, 'UTC') AS at, event_name AS name,
              sum(stored)::bigint AS stored, sum(failed)::bigint AS failed
       FROM (${union}) x
       GROUP BY 1, 2
       ORDER BY 1, 2`,
      w.params,
    );
    return rows.map((r) => ({ at: iso(r.at), name: r.name, stored: Number(r.stored), failed: Number(r.failed) }));
  }

  /** Latency histograms of the window per listener ('' = publish → stored); every tenant without a scope. */
  async latency(window: RollupWindow, scope?: TenantScope, listener?: string): Promise<LatencyRow[]> {
    const w = scoped(scope);
    if (listener !== undefined) w.where(`listener = ${w.param(listener)}`);
    const union = this.spans(w, window, 'rollup_latency', 'rollup_latency_deltas', 'listener, bucket, n');
    const rows: { listener: string; bucket: number; n: string }[] = await this.db.query(
      `SELECT listener, bucket, sum(n)::bigint AS n
       FROM (${union}) x
       GROUP BY 1, 2`,
      w.params,
    );
    return rows.map((r) => ({ listener: r.listener, bucket: r.bucket, n: Number(r.n) }));
  }
}
