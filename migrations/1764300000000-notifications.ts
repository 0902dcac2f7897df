import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Notifications1764300000000 implements MigrationInterface {
  name = 'Notifications1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notification_rules (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        name text NOT NULL,
        event_name text NOT NULL,
        conditions jsonb NOT NULL DEFAULT '[]'::jsonb,
        min_severity text NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info', 'warning', 'critical')),
        recipient_users uuid[] NOT NULL DEFAULT '{}',
        recipient_roles text[] NOT NULL DEFAULT '{}',
        channels text[] NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX notification_rules_event_idx ON notification_rules (tenant_id, event_name) WHERE enabled`,
    );
    await q.query(`
      CREATE TABLE notification_preferences (
        user_id uuid PRIMARY KEY REFERENCES users (id),
        muted jsonb NOT NULL DEFAULT '{}'::jsonb,
        quiet_start time,
        quiet_end time,
        email_digest boolean NOT NULL DEFAULT false
      )`);
    // One row per (notification, recipient): what was requested. The in-app inbox reads it.
    await q.query(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        user_id uuid NOT NULL REFERENCES users (id),
        kind text NOT NULL,
        category text NOT NULL,
        severity text NOT NULL,
        title text NOT NULL,
        body text NOT NULL,
        link text,
        dedup_key text NOT NULL,
        event_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz
      )`);
    await q.query(`CREATE INDEX notifications_inbox_idx ON notifications (user_id, created_at DESC)`);
    await q.query(
      `CREATE UNIQUE INDEX notifications_event_user_uq ON notifications (event_id, user_id, kind) WHERE event_id IS NOT NULL`,
    );
    // One row per (notification, channel): what was delivered, with every attempt in delivery_attempts.
    await q.query(`
      CREATE TABLE notification_deliveries (
        id uuid PRIMARY KEY,
        notification_id uuid NOT NULL REFERENCES notifications (id),
        tenant_id text NOT NULL,
        user_id uuid NOT NULL,
        channel text NOT NULL CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
        status text NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'suppressed', 'skipped')),
        reason text,
        provider_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX notification_deliveries_pending_idx ON notification_deliveries (user_id, channel) WHERE status = 'queued'`,
    );
    await q.query(`
      CREATE TABLE delivery_attempts (
        id bigserial PRIMARY KEY,
        delivery_id uuid NOT NULL REFERENCES notification_deliveries (id),
        at timestamptz NOT NULL DEFAULT now(),
        outcome text NOT NULL CHECK (outcome IN ('sent', 'temporary_failure', 'permanent_failure')),
        error text
      )`);
    await q.query(`CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts (delivery_id)`);
    // Storm control: the last time the same alert about the same thing went to a recipient on a channel.
    await q.query(`
      CREATE TABLE notification_dedup (
        user_id uuid NOT NULL,
        channel text NOT NULL,
        dedup_key text NOT NULL,
        last_sent_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, channel, dedup_key)
      )`);
    await q.query(`
      CREATE TABLE sms_budget (
        tenant_id text NOT NULL,
        day date NOT NULL,
        sent int NOT NULL DEFAULT 0,
        notice_sent boolean NOT NULL DEFAULT false,
        PRIMARY KEY (tenant_id, day)
      )`);
    await q.query(`
      CREATE TABLE push_subscriptions (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        user_id uuid NOT NULL REFERENCES users (id),
        endpoint text NOT NULL UNIQUE,
        p256dh text NOT NULL,
        auth text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'push_subscriptions',
      'sms_budget',
      'notification_dedup',
      'delivery_attempts',
      'notification_deliveries',
      'notifications',
      'notification_preferences',
      'notification_rules',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
