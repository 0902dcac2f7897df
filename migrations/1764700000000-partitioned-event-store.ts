import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DAY_MS, dayStart, daysAhead, ensureEventPartitions, uuidV7Floor, uuidV7Millis } from '@wms/events';

/** What the table of the store before this migration becomes: the partition of every event up to its bound. */
const LEGACY_PARTITION = 'event_store_legacy';
const BOUND = 'event_store_legacy_bound';

async function inTransaction<T>(q: QueryRunner, work: () => Promise<T>): Promise<T> {
  await q.startTransaction();
  try {
    const result = await work();
    await q.commitTransaction();
    return result;
  } catch (error) {
    await q.rollbackTransaction();
    throw error;
  }
}

/** The indexes and the append-only trigger of `event_store`, created on the partitioned table (so on every partition). */
async function indexesAndTrigger(q: QueryRunner): Promise<void> {
  await q.query(`ALTER TABLE event_store ADD PRIMARY KEY (id)`);
  await q.query(`CREATE INDEX event_store_name_idx ON event_store (tenant_id, name, id)`);
  await q.query(`CREATE INDEX event_store_warehouse_idx ON event_store (tenant_id, warehouse_id, id)`);
  await q.query(`CREATE INDEX event_store_occurred_at_idx ON event_store (tenant_id, occurred_at)`);
  await q.query(`CREATE INDEX event_store_correlation_idx ON event_store (correlation_id)`);
  // Row triggers of a partitioned table are cloned onto each partition; DETACH and DROP fire none.
  await q.query(
    `CREATE TRIGGER event_store_append_only
     BEFORE UPDATE OR DELETE ON event_store
     FOR EACH ROW EXECUTE FUNCTION event_store_append_only()`,
  );
}

/**
 * `event_store` becomes a table partitioned by day on its UUIDv7 id (libs/events/src/store/event-partitions.ts).
 * The stored events are not copied: the old table is attached as one partition, `event_store_legacy`, holding
 * every event before the day after tomorrow. Postgres would check every row against that bound while holding
 * the store's exclusive lock; a CHECK constraint validated first (under a lock that lets events be stored
 * meanwhile) proves it instead, so the swap itself locks the store only for as long as renaming takes.
 */
export class PartitionedEventStore1764700000000 implements MigrationInterface {
  name = 'PartitionedEventStore1764700000000';
  // Its own transactions: the validation must not run under the swap's exclusive lock.
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // The SQL twin of uuidV7Floor: lets a query bounded by time also bound id, so it reads only the partitions it needs.
    await q.query(`
      CREATE OR REPLACE FUNCTION uuid_v7_floor(at timestamptz) RETURNS uuid
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
      AS $$ SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || repeat('0', 20))::uuid $$`);
    const [{ kind }] = await q.query(`SELECT relkind AS kind FROM pg_class WHERE oid = 'event_store'::regclass`);
    if (kind !== 'p') await this.partition(q);
    await inTransaction(q, () => ensureEventPartitions(q, daysAhead(Date.now())));
  }

  private async partition(q: QueryRunner): Promise<void> {
    const [newest] = await q.query(`SELECT id FROM event_store ORDER BY id DESC LIMIT 1`);
    // Room for the events stored while this runs; later if an api's clock was ahead.
    const until = uuidV7Floor(
      dayStart(Math.max(Date.now(), newest ? uuidV7Millis(newest.id as string) : 0)) + 2 * DAY_MS,
    );
    await q.query(`ALTER TABLE event_store DROP CONSTRAINT IF EXISTS ${BOUND}`); // from a run stopped half-way
    await q.query(`ALTER TABLE event_store ADD CONSTRAINT ${BOUND} CHECK (id < '${until}') NOT VALID`);
    await q.query(`ALTER TABLE event_store VALIDATE CONSTRAINT ${BOUND}`);
    await inTransaction(q, async () => {
      await q.query(`LOCK TABLE event_store IN ACCESS EXCLUSIVE MODE`);
      await q.query(`ALTER TABLE event_store RENAME TO ${LEGACY_PARTITION}`);
      const indexes: { name: string }[] = await q.query(
        `SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = '${LEGACY_PARTITION}'::regclass`,
      );
      for (const { name } of indexes) {
        await q.query(`ALTER INDEX ${name} RENAME TO ${name.replace(/^event_store_/, `${LEGACY_PARTITION}_`)}`);
      }
      // The partitioned table's trigger is cloned onto it when it is attached.
      await q.query(`DROP TRIGGER event_store_append_only ON ${LEGACY_PARTITION}`);
      await q.query(
        `CREATE TABLE event_store (LIKE ${LEGACY_PARTITION} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
         PARTITION BY RANGE (id)`,
      );
      await q.query(`ALTER TABLE event_store DROP CONSTRAINT ${BOUND}`);
      await indexesAndTrigger(q);
      const [{ empty }] = await q.query(`SELECT NOT EXISTS (SELECT 1 FROM ${LEGACY_PARTITION}) AS empty`);
      if (empty) {
        await q.query(`DROP TABLE ${LEGACY_PARTITION}`);
        return;
      }
      // Its indexes match the partitioned table's and are attached, not built again.
      await q.query(
        `ALTER TABLE event_store ATTACH PARTITION ${LEGACY_PARTITION} FOR VALUES FROM (MINVALUE) TO ('${until}')`,
      );
      await q.query(`ALTER TABLE ${LEGACY_PARTITION} DROP CONSTRAINT ${BOUND}`);
    });
  }

  async down(q: QueryRunner): Promise<void> {
    await inTransaction(q, async () => {
      await q.query(`CREATE TABLE event_store_plain (LIKE event_store INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await q.query(`INSERT INTO event_store_plain SELECT * FROM event_store`);
      await q.query(`DROP TABLE event_store`);
      await q.query(`ALTER TABLE event_store_plain RENAME TO event_store`);
      await indexesAndTrigger(q);
      await q.query(
        `CREATE UNIQUE INDEX event_store_stream_position_uq
         ON event_store (tenant_id, aggregate_type, aggregate_id, stream_position)`,
      );
      await q.query(`DROP FUNCTION IF EXISTS uuid_v7_floor(timestamptz)`);
    });
  }
}
