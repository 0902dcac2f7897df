import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per rebuild of a projection listener: its range, how far its replay got (a keyset cursor) and whether
 * every event is queued. A rebuild interrupted half-way stays `queueing`, and running it again finishes it.
 */
export class ListenerRebuilds1764750000000 implements MigrationInterface {
  name = 'ListenerRebuilds1764750000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE listener_rebuilds (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        listener text NOT NULL,
        occurred_from timestamptz NOT NULL,
        occurred_to timestamptz NOT NULL CHECK (occurred_to > occurred_from),
        status text NOT NULL CHECK (status IN ('queueing', 'queued')),
        events_reset int NOT NULL,
        receipts_reset int NOT NULL,
        events_queued int NOT NULL DEFAULT 0,
        cursor_occurred_at timestamptz,
        cursor_id uuid,
        requested_by text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        queued_at timestamptz
      )`);
    // At most one unfinished rebuild per listener and tenant.
    await q.query(
      `CREATE UNIQUE INDEX listener_rebuilds_unfinished_uq ON listener_rebuilds (tenant_id, listener) WHERE status = 'queueing'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS listener_rebuilds`);
  }
}
