import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DeadLetterAdmin1764400000000 implements MigrationInterface {
  name = 'DeadLetterAdmin1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE dead_letters
        ADD COLUMN warehouse_id text,
        ADD COLUMN retries int NOT NULL DEFAULT 0,
        ADD COLUMN status_reason text,
        ADD COLUMN status_by text,
        ADD COLUMN status_at timestamptz`);
    await q.query(`CREATE INDEX dead_letters_event_idx ON dead_letters (event_id)`);
    await q.query(`CREATE INDEX dead_letters_tenant_time_idx ON dead_letters (tenant_id, last_failed_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS dead_letters_event_idx`);
    await q.query(`DROP INDEX IF EXISTS dead_letters_tenant_time_idx`);
    await q.query(
      `ALTER TABLE dead_letters
       DROP COLUMN warehouse_id, DROP COLUMN retries, DROP COLUMN status_reason, DROP COLUMN status_by, DROP COLUMN status_at`,
    );
  }
}
