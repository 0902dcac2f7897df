import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A recipient routing could not handle (their stored preferences are broken, say) gets one delivery row with
 * status `unroutable`, no channel and the reason, instead of failing everyone's routing of the event.
 * No job ever picks such a row up: delivery and retries only look at `queued` and `failed` rows.
 */
export class RecipientFailures1764510000000 implements MigrationInterface {
  name = 'RecipientFailures1764510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE notification_deliveries
        ALTER COLUMN channel DROP NOT NULL,
        DROP CONSTRAINT notification_deliveries_status_check,
        ADD CONSTRAINT notification_deliveries_status_check
          CHECK (status IN ('queued', 'sent', 'failed', 'suppressed', 'skipped', 'unroutable')),
        ADD CONSTRAINT notification_deliveries_channel_required
          CHECK (channel IS NOT NULL OR status = 'unroutable')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM notification_deliveries WHERE status = 'unroutable'`);
    await q.query(`
      ALTER TABLE notification_deliveries
        DROP CONSTRAINT notification_deliveries_channel_required,
        DROP CONSTRAINT notification_deliveries_status_check,
        ADD CONSTRAINT notification_deliveries_status_check CHECK (status IN ('queued', 'sent', 'failed', 'suppressed', 'skipped')),
        ALTER COLUMN channel SET NOT NULL`);
  }
}
