import type { MigrationInterface, QueryRunner } from 'typeorm';

export class EventPipeline1764000000000 implements MigrationInterface {
  name = 'EventPipeline1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE event_streams (
        tenant_id text NOT NULL,
        aggregate_type text NOT NULL,
        aggregate_id text NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (tenant_id, aggregate_type, aggregate_id)
      )`);
    await q.query(`
      CREATE TABLE event_outbox (
        id uuid PRIMARY KEY,
        envelope jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX event_outbox_created_at_idx ON event_outbox (created_at)`);
    await q.query(`
      CREATE TABLE event_store (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        name text NOT NULL,
        version int NOT NULL,
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        source text NOT NULL,
        actor jsonb NOT NULL,
        warehouse_id text,
        correlation_id uuid NOT NULL,
        causation_id uuid,
        aggregate_type text NOT NULL,
        aggregate_id text NOT NULL,
        stream_position bigint NOT NULL CHECK (stream_position > 0),
        payload jsonb NOT NULL
      )`);
    await q.query(
      `CREATE UNIQUE INDEX event_store_stream_position_uq ON event_store (tenant_id, aggregate_type, aggregate_id, stream_position)`,
    );
    await q.query(`CREATE INDEX event_store_name_idx ON event_store (tenant_id, name, id)`);
    await q.query(`CREATE INDEX event_store_warehouse_idx ON event_store (tenant_id, warehouse_id, id)`);
    await q.query(`CREATE INDEX event_store_occurred_at_idx ON event_store (tenant_id, occurred_at)`);
    await q.query(`CREATE INDEX event_store_correlation_idx ON event_store (correlation_id)`);
    // The store is append-only: refuse updates and deletes at the database, not only in code.
    await q.query(`
      CREATE FUNCTION event_store_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'event_store is append-only'; END $$`);
    await q.query(
      `CREATE TRIGGER event_store_append_only
       BEFORE UPDATE OR DELETE ON event_store
       FOR EACH ROW EXECUTE FUNCTION event_store_append_only()`,
    );
    await q.query(`
      CREATE TABLE idempotency_keys (
        tenant_id text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        event_id uuid,
        response jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at)`);
    await q.query(`
      CREATE TABLE listener_receipts (
        listener text NOT NULL,
        event_id uuid NOT NULL,
        handled_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (listener, event_id)
      )`);
    await q.query(`
      CREATE TABLE dead_letters (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id text,
        queue text NOT NULL,
        job_name text NOT NULL,
        job_id text NOT NULL,
        event_id uuid,
        event_name text,
        payload jsonb NOT NULL,
        error_message text NOT NULL,
        error_stack text,
        fingerprint text NOT NULL,
        attempts int NOT NULL,
        history jsonb NOT NULL DEFAULT '[]'::jsonb,
        first_failed_at timestamptz NOT NULL,
        last_failed_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'retried', 'discarded', 'resolved'))
      )`);
    await q.query(`CREATE INDEX dead_letters_status_idx ON dead_letters (tenant_id, status, last_failed_at)`);
    await q.query(`CREATE INDEX dead_letters_fingerprint_idx ON dead_letters (fingerprint)`);
    // Used by @socket.io/postgres-adapter in the Postgres-only profile.
    await q.query(`
      CREATE TABLE socket_io_attachments (
        id bigserial UNIQUE,
        created_at timestamptz DEFAULT now(),
        payload bytea
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'socket_io_attachments',
      'dead_letters',
      'listener_receipts',
      'idempotency_keys',
      'event_store',
      'event_outbox',
      'event_streams',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS event_store_append_only()`);
  }
}
