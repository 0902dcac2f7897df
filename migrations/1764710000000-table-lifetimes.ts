import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The expiry index of each pruned table (libs/events/src/retention/table-lifetimes.ts), and the ones its checks need. */
const INDEXES: [name: string, definition: string][] = [
  ['refresh_tokens_expires_at_idx', 'refresh_tokens (expires_at)'],
  ['set_password_codes_expires_at_idx', 'set_password_codes (expires_at)'],
  ['login_failures_updated_at_idx', 'login_failures (updated_at)'],
  ['listener_receipts_handled_at_idx', 'listener_receipts (handled_at)'],
  ['dead_letters_settled_idx', `dead_letters (status_at) WHERE status IN ('resolved', 'discarded')`],
  ['notification_dedup_last_sent_at_idx', 'notification_dedup (last_sent_at)'],
  ['delivery_attempts_at_idx', 'delivery_attempts (at)'],
  ['notification_deliveries_created_at_idx', 'notification_deliveries (created_at)'],
  // Deleting a notification checks that no delivery still points at it: without this, a scan of every delivery.
  ['notification_deliveries_notification_idx', 'notification_deliveries (notification_id)'],
  ['notifications_created_at_idx', 'notifications (created_at)'],
  ['sms_budget_day_idx', 'sms_budget (day)'],
  ['socket_io_attachments_created_at_idx', 'socket_io_attachments (created_at)'],
];

/**
 * Every table has a lifetime: the indexes the pruner finds expired rows through. Built CONCURRENTLY (so outside a
 * transaction), so a large installation keeps writing while they build; a build that failed half-way left an
 * invalid index, which a second run drops and builds again.
 */
export class TableLifetimes1764710000000 implements MigrationInterface {
  name = 'TableLifetimes1764710000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    for (const [name, definition] of INDEXES) {
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
      await q.query(`CREATE INDEX CONCURRENTLY ${name} ON ${definition}`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [name] of INDEXES) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  }
}
