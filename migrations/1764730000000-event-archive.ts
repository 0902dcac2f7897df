import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `event_archive_restored.events`: archived events loaded back for an investigation (`npm run wms -- events:restore`),
 * the store's columns in a schema of their own that replay, catch-up, search and the rollups never read. Read-only:
 * a trigger refuses every INSERT, UPDATE, DELETE and TRUNCATE except the restore's own loading and clearing (it sets
 * `wms.archive_restore` in its transaction) — a guard against mistakes; grant investigators SELECT only.
 */
export class EventArchive1764730000000 implements MigrationInterface {
  name = 'EventArchive1764730000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA event_archive_restored`);
    await q.query(`CREATE TABLE event_archive_restored.events (LIKE event_store INCLUDING DEFAULTS)`);
    await q.query(`ALTER TABLE event_archive_restored.events ADD PRIMARY KEY (id)`);
    await q.query(`CREATE INDEX events_occurred_at_idx ON event_archive_restored.events (tenant_id, occurred_at)`);
    await q.query(
      `CREATE INDEX events_stream_idx ON event_archive_restored.events (tenant_id, aggregate_type, aggregate_id, stream_position)`,
    );
    await q.query(`
      CREATE FUNCTION event_archive_restored.read_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('INSERT', 'TRUNCATE') AND current_setting('wms.archive_restore', true) = 'on' THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'event_archive_restored.events is read-only: restored events are loaded and cleared by npm run wms -- events:restore';
      END $$`);
    await q.query(
      `CREATE TRIGGER events_read_only BEFORE INSERT OR UPDATE OR DELETE ON event_archive_restored.events
       FOR EACH ROW EXECUTE FUNCTION event_archive_restored.read_only()`,
    );
    await q.query(
      `CREATE TRIGGER events_read_only_truncate BEFORE TRUNCATE ON event_archive_restored.events
       FOR EACH STATEMENT EXECUTE FUNCTION event_archive_restored.read_only()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA event_archive_restored CASCADE`);
  }
}
