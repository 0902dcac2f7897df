import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TenantBacklog1764520000000 implements MigrationInterface {
  name = 'TenantBacklog1764520000000';

  async up(q: QueryRunner): Promise<void> {
    // Each tenant's backlog is its own outbox rows. Generated from the envelope, so every writer of the
    // outbox (the group-commit recording statement) fills them without naming them.
    await q.query(`
      ALTER TABLE event_outbox
        ADD COLUMN tenant_id text GENERATED ALWAYS AS (envelope->>'tenantId') STORED,
        ADD COLUMN warehouse_id text GENERATED ALWAYS AS (envelope->>'warehouseId') STORED`);
    await q.query(`CREATE INDEX event_outbox_tenant_idx ON event_outbox (tenant_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS event_outbox_tenant_idx`);
    await q.query(`ALTER TABLE event_outbox DROP COLUMN warehouse_id, DROP COLUMN tenant_id`);
  }
}
