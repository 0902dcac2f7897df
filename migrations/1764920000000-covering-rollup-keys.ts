import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The rollups' keys carry their figures (`INCLUDE`), so the dashboard's and /metrics' reads are index-only scans:
 * measured by `npm run bench:history`, those reads fetched one heap page per row read, and the rows of a window lie
 * scattered over more pages as history grows (written in compaction order, updated in place). The tables are small
 * (one row per tier bucket, warehouse and event name or latency bucket); rebuilding their indexes takes moments.
 */
export class CoveringRollupKeys1764920000000 implements MigrationInterface {
  name = 'CoveringRollupKeys1764920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE rollup_counts
        DROP CONSTRAINT rollup_counts_pkey,
        ADD CONSTRAINT rollup_counts_pkey PRIMARY KEY (tenant_id, tier, at, warehouse_id, event_name)
          INCLUDE (stored, failed)`);
    await q.query(`
      ALTER TABLE rollup_latency
        DROP CONSTRAINT rollup_latency_pkey,
        ADD CONSTRAINT rollup_latency_pkey PRIMARY KEY (tenant_id, tier, at, listener, warehouse_id, bucket) INCLUDE (n)`);
    // Every tenant's rows of a window (/metrics) and the pruning of each tier.
    await q.query(`DROP INDEX rollup_counts_tier_at_idx`);
    await q.query(`
      CREATE INDEX rollup_counts_tier_at_idx ON rollup_counts (tier, at)
        INCLUDE (tenant_id, warehouse_id, event_name, stored, failed)`);
    await q.query(`DROP INDEX rollup_latency_tier_at_idx`);
    await q.query(`
      CREATE INDEX rollup_latency_tier_at_idx ON rollup_latency (tier, at)
        INCLUDE (tenant_id, warehouse_id, listener, bucket, n)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX rollup_latency_tier_at_idx`);
    await q.query(`CREATE INDEX rollup_latency_tier_at_idx ON rollup_latency (tier, at)`);
    await q.query(`DROP INDEX rollup_counts_tier_at_idx`);
    await q.query(`CREATE INDEX rollup_counts_tier_at_idx ON rollup_counts (tier, at)`);
    await q.query(`
      ALTER TABLE rollup_latency
        DROP CONSTRAINT rollup_latency_pkey,
        ADD CONSTRAINT rollup_latency_pkey PRIMARY KEY (tenant_id, tier, at, listener, warehouse_id, bucket)`);
    await q.query(`
      ALTER TABLE rollup_counts
        DROP CONSTRAINT rollup_counts_pkey,
        ADD CONSTRAINT rollup_counts_pkey PRIMARY KEY (tenant_id, tier, at, warehouse_id, event_name)`);
  }
}
