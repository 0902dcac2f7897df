import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A listener receipt keeps its event's tenant and publish time, so per-listener latency is read from the
 * receipts alone (and their index), never by joining the event store.
 */
export class ReceiptLatency1764600000000 implements MigrationInterface {
  name = 'ReceiptLatency1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE listener_receipts ADD COLUMN tenant_id text, ADD COLUMN recorded_at timestamptz`);
    await q.query(`CREATE INDEX listener_receipts_tenant_handled_idx ON listener_receipts (tenant_id, handled_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX listener_receipts_tenant_handled_idx`);
    await q.query(`ALTER TABLE listener_receipts DROP COLUMN tenant_id, DROP COLUMN recorded_at`);
  }
}
