import { getQueueToken } from '@nestjs/bullmq';
import { NestFactory } from '@nestjs/core';
import {
  DAY_MS,
  dayStart,
  ENSURE_EVENT_PARTITIONS_JOB,
  type EventEnvelope,
  eventPartitions,
  EventPartitions,
  EventPipeline,
  EventRecorder,
  EventStoreRepository,
  ReplayService,
  MAINTENANCE_QUEUE,
  maintenanceSchedule,
  PARTITION_DAYS_AHEAD,
  uuidV7Floor,
} from '@wms/events';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerModule } from '../apps/worker/src/worker.module.js';
import { migrations } from '../migrations/index.js';
import { PartitionedEventStore1764700000000 } from '../migrations/1764700000000-partitioned-event-store.js';
import { testEnv } from './support/env.js';
import { startSystem, TestSystem, tracking, trackingEnvelopeAt } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const TODAY = dayStart(Date.now());
const partitionOf = (day: number) => `event_store_p${new Date(day).toISOString().slice(0, 10).replace(/-/g, '')}`;

describe(EventPartitions.name, () => {
  let sys: TestSystem;
  let partitions: EventPartitions;
  let store: EventStoreRepository;
  /** Days (not today's) whose partitions this suite makes; dropped afterwards so no other suite meets them. */
  const madeDays = new Set<number>();

  beforeAll(async () => {
    sys = await startSystem();
    partitions = sys.worker!.get(EventPartitions);
    store = sys.worker!.get(EventStoreRepository);
  });
  afterAll(async () => {
    for (const day of madeDays) await sys?.db.query(`DROP TABLE IF EXISTS ${partitionOf(day)}`);
    await sys?.close();
  });

  /** An accepted event of the order `SO-<order>` whose id was minted at `ms`. */
  const envelopeAt = (ms: number, order: string, streamPosition = 1): EventEnvelope => {
    if (dayStart(ms) !== TODAY) madeDays.add(dayStart(ms));
    return trackingEnvelopeAt(sys.tenant, ms, order, streamPosition);
  };
  const stored = async (id: string) =>
    (
      await sys.db.query(
        `SELECT tableoid::regclass::text AS partition, stream_position::int AS position FROM event_store WHERE id = $1`,
        [id],
      )
    ).rows;

  it('replays a range to a listener across partitions, oldest first', async () => {
    // The same order's events, accepted three days ago, two days ago and today: three partitions.
    const order = `XP-${randomUUID().slice(0, 6).toUpperCase()}`;
    const events = [TODAY - 3 * DAY_MS + 3_600_000, TODAY - 2 * DAY_MS + 3_600_000, Date.now() - 60_000].map((ms, i) =>
      envelopeAt(ms, order, i + 1),
    );
    expect(await store.appendMany(events)).toEqual([true, true, true]);
    expect(new Set(await Promise.all(events.map(async (e) => (await stored(e.id))[0].partition))).size).toBe(3);
    const replay = await sys.worker!.get(ReplayService).replay({ type: 'system', id: 'test' }, sys.tenant, {
      from: new Date(TODAY - 4 * DAY_MS).toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
      aggregateId: `WH1/SO-${order}`,
      listener: 'route-notifications-when-event-stored',
    });
    expect(replay.eventIds).toEqual(events.map((e) => e.id));
  });

  describe('partition bounds', () => {
    it('are the UUIDv7 of the day’s first millisecond, the same in TypeScript and in SQL', async () => {
      const day = Date.UTC(2026, 11, 1);
      expect(uuidV7Floor(day)).toBe('01a22ee6-b000-0000-0000-000000000000');
      expect(uuidV7Floor(0)).toBe('00000000-0000-0000-0000-000000000000');
      for (const ms of [day, day - 1, day + 1, Date.now(), Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) {
        const { rows } = await sys.db.query(`SELECT uuid_v7_floor($1::timestamptz)::text AS id`, [
          new Date(ms).toISOString(),
        ]);
        expect(rows[0].id, new Date(ms).toISOString()).toBe(uuidV7Floor(ms));
        // Every UUIDv7 of that millisecond sorts at or after it, every one of the millisecond before it sorts before.
        expect(uuidv7({ msecs: ms }) >= uuidV7Floor(ms)).toBe(true);
        if (ms > 0) expect(uuidv7({ msecs: ms - 1 }) < uuidV7Floor(ms)).toBe(true);
      }
    });

    it('put the last millisecond of a day in its partition and the next millisecond in the next day’s', async () => {
      const midnight = TODAY - 5 * DAY_MS;
      const last = envelopeAt(midnight - 1, 'EDGE-A');
      const first = envelopeAt(midnight, 'EDGE-B');
      expect(await store.appendMany([last, first])).toEqual([true, true]);
      expect((await stored(last.id))[0].partition).toBe(partitionOf(midnight - DAY_MS));
      expect((await stored(first.id))[0].partition).toBe(partitionOf(midnight));
      const made = (await partitions.list()).filter((p) => p.name === partitionOf(midnight));
      expect(made).toEqual([
        { name: partitionOf(midnight), from: uuidV7Floor(midnight), to: uuidV7Floor(midnight + DAY_MS) },
      ]);
    });
  });

  describe('the maintenance job', () => {
    it('runs on a job scheduler that two workers share, and leaves today and the next days partitioned', async () => {
      const queue = sys.worker!.get<Queue>(getQueueToken(MAINTENANCE_QUEUE), { strict: false });
      await waitFor('the first scheduled run to complete', async () =>
        (await queue.getJobs(['completed'])).some((j) => j.name === ENSURE_EVENT_PARTITIONS_JOB),
      );
      const second = await NestFactory.createApplicationContext(WorkerModule.forRoot(sys.config), { logger: false });
      await second.init();
      try {
        const schedulers = await queue.getJobSchedulers();
        // One scheduler per maintenance job, however many workers upserted it.
        expect(schedulers.map((s) => [s.key, s.name, Number(s.every)]).sort()).toEqual(
          Object.entries(maintenanceSchedule(sys.config))
            .map(([name, { every }]) => [name, name, every])
            .sort(),
        );
        expect(schedulers.map((s) => s.key)).toContain(ENSURE_EVENT_PARTITIONS_JOB);
      } finally {
        await second.close();
      }
      const names = new Set((await partitions.list()).map((p) => p.name));
      for (let d = 0; d <= PARTITION_DAYS_AHEAD; d++) expect(names).toContain(partitionOf(TODAY + d * DAY_MS));
    });

    it('creates each partition once when two workers run it at the same moment', async () => {
      const now = TODAY + 400 * DAY_MS;
      const days = Array.from({ length: PARTITION_DAYS_AHEAD + 1 }, (_, d) => now + d * DAY_MS);
      for (const day of days) madeDays.add(day);
      const [a, b] = await Promise.all([partitions.ensureAhead(now), partitions.ensureAhead(now)]);
      expect([...a, ...b].sort()).toEqual(days.map(partitionOf));
      expect(await partitions.ensureAhead(now)).toEqual([]);
      // Contiguous: each day's partition starts where the previous one ends.
      const made = (await partitions.list()).filter((p) => days.map(partitionOf).includes(p.name));
      expect(made.map((p) => [p.from, p.to])).toEqual(days.map((d) => [uuidV7Floor(d), uuidV7Floor(d + DAY_MS)]));
    });
  });

  it('stores an event beyond the partitions made so far (an api clock days ahead) in a partition made for it', async () => {
    const later = TODAY + 30 * DAY_MS + 12 * 3_600_000;
    expect((await partitions.list()).map((p) => p.name)).not.toContain(partitionOf(dayStart(later)));
    const event = envelopeAt(later, 'AHEAD');
    await sys.worker!.get(EventPipeline).handle(event);
    expect(await stored(event.id)).toEqual([{ partition: partitionOf(dayStart(later)), position: 1 }]);
  });

  it('stores an event once, whichever partition it is in, however often and concurrently it is delivered', async () => {
    const old = envelopeAt(Date.now() - 3 * DAY_MS, 'ONCE-OLD');
    const now = envelopeAt(Date.now(), 'ONCE-NOW');
    const results = await Promise.all([
      store.appendMany([old, now]),
      store.appendMany([now, old]),
      store.appendOnce(old),
      store.appendOnce(now),
    ]);
    expect(results.flat().filter(Boolean)).toHaveLength(2);
    expect(await store.appendMany([old, now])).toEqual([false, false]);
    expect(await stored(old.id)).toEqual([{ partition: partitionOf(dayStart(Date.now() - 3 * DAY_MS)), position: 1 }]);
    expect(await stored(now.id)).toEqual([{ partition: partitionOf(TODAY), position: 1 }]);
  });

  it('continues a stream without a gap when its previous events are in older partitions', async () => {
    const recorder = sys.api.get(EventRecorder);
    const pipeline = sys.worker!.get(EventPipeline);
    const earlier = [envelopeAt(Date.now() - 2 * DAY_MS, 'STREAM'), envelopeAt(Date.now() - DAY_MS, 'STREAM')];
    for (const e of earlier) {
      e.streamPosition = (await recorder.record({ envelope: e }))!;
      await pipeline.handle(e);
    }
    const res = await sys.post('/events', tracking({ orderNumber: 'SO-STREAM' }));
    expect(res.status).toBe(202);
    await waitFor('the new event to be stored', async () => (await stored(res.body.id)).length === 1);
    const { rows } = await sys.db.query(
      `SELECT stream_position::int AS p, tableoid::regclass::text AS partition
       FROM event_store WHERE tenant_id = $1 AND aggregate_id = 'WH1/SO-STREAM'
       ORDER BY stream_position`,
      [sys.tenant],
    );
    expect(rows).toEqual([
      { p: 1, partition: partitionOf(dayStart(Date.now() - 2 * DAY_MS)) },
      { p: 2, partition: partitionOf(dayStart(Date.now() - DAY_MS)) },
      { p: 3, partition: partitionOf(TODAY) },
    ]);
  });

  it('refuses a second event at a stream position already stored in the same partition', async () => {
    const day = dayStart(Date.now() - 4 * DAY_MS);
    expect(await store.appendMany([envelopeAt(day + 1000, 'TWICE')])).toEqual([true]);
    await expect(store.appendMany([envelopeAt(day + 2000, 'TWICE')])).rejects.toMatchObject({
      code: '23505',
      constraint: `${partitionOf(day)}_stream_position_uq`,
    });
  });

  it('keeps stored events append-only, while a whole partition can still be detached and dropped', async () => {
    const event = envelopeAt(Date.now() - 8 * DAY_MS, 'APPEND-ONLY');
    await store.appendMany([event]);
    const partition = partitionOf(dayStart(Date.now() - 8 * DAY_MS));
    await expect(sys.db.query(`UPDATE event_store SET name = 'x' WHERE id = $1`, [event.id])).rejects.toThrow(
      /append-only/,
    );
    await expect(sys.db.query(`DELETE FROM ${partition} WHERE id = $1`, [event.id])).rejects.toThrow(/append-only/);
    expect(await stored(event.id)).toHaveLength(1);
    await sys.db.query(`ALTER TABLE event_store DETACH PARTITION ${partition}`);
    await sys.db.query(`DROP TABLE ${partition}`);
    expect(await stored(event.id)).toHaveLength(0);
  });
});

describe(PartitionedEventStore1764700000000.name, () => {
  const server = new URL(testEnv.databaseUrl);
  const name = `${server.pathname.slice(1)}_partitioning_${randomUUID().slice(0, 8)}`;
  const url = Object.assign(new URL(testEnv.databaseUrl), { pathname: `/${name}` }).toString();
  let db: pg.Pool;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: testEnv.databaseUrl });
    await c.connect();
    await c.query(sql).finally(() => c.end());
  };
  /** Runs every migration, or undoes them back to and including the partitioning (later ones first). */
  const migrate = async (list: typeof migrations, undoPartitioning = false) => {
    const ds = new DataSource({ type: 'postgres', url, migrations: list, migrationsTableName: 'typeorm_migrations' });
    await ds.initialize();
    try {
      if (undoPartitioning) {
        const later = list.length - list.indexOf(PartitionedEventStore1764700000000);
        // 'none': a later migration builds its indexes CONCURRENTLY, which no transaction may hold.
        for (let i = 0; i < later; i++) await ds.undoLastMigration({ transaction: 'none' });
      } else await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
  };
  const fingerprint = async () =>
    (
      await db.query(
        `SELECT count(*)::int AS n,
                md5(string_agg(id::text || ':' || stream_position || ':' || payload::text, ',' ORDER BY id)) AS sum
         FROM event_store`,
      )
    ).rows[0];

  beforeAll(async () => {
    await admin(`CREATE DATABASE "${name}"`);
    db = new pg.Pool({ connectionString: url, max: 2 });
    await migrate(migrations.slice(0, migrations.indexOf(PartitionedEventStore1764700000000)));
    // 3,000 events over the last ten days, UUIDv7-shaped ids, streams of 30 events.
    await db.query(`
      INSERT INTO event_store (id, tenant_id, name, version, occurred_at, recorded_at, source, actor, warehouse_id,
                               correlation_id, aggregate_type, aggregate_id, stream_position, payload)
      SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || lpad(to_hex(g), 19, '0'))::uuid,
             't-old', 'inventory.adjusted', 1, ts, ts, 'test', '{"type":"system","id":"test"}', 'WH1',
             gen_random_uuid(), 'stock', 'SKU-' || (g / 30), g % 30 + 1, jsonb_build_object('n', g)
      FROM generate_series(0, 2999) g, LATERAL (SELECT now() - interval '10 days' + g * interval '288 seconds' AS ts) x`);
  });
  afterAll(async () => {
    await db?.end();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it('turns a populated store into a partitioned one without copying, losing or changing an event', async () => {
    const before = await fingerprint();
    expect(before.n).toBe(3000);
    await migrate(migrations);
    expect(await fingerprint()).toEqual(before);
    const { rows: kind } = await db.query(`SELECT relkind FROM pg_class WHERE relname = 'event_store'`);
    expect(kind).toEqual([{ relkind: 'p' }]);
    // The old table is the first partition, ending on a day boundary; day partitions follow it up to a week ahead.
    const list = await eventPartitions({ query: (sql, params) => db.query(sql, params).then((r) => r.rows) });
    expect(list[0]).toMatchObject({ name: 'event_store_legacy', from: null });
    expect(list[0].to).toBe(uuidV7Floor(TODAY + 2 * DAY_MS));
    expect(list.slice(1).map((p) => p.name)).toEqual(
      Array.from({ length: PARTITION_DAYS_AHEAD - 1 }, (_, d) => partitionOf(TODAY + (d + 2) * DAY_MS)),
    );
    for (let i = 1; i < list.length; i++) expect(list[i].from).toBe(list[i - 1].to);
    // Its indexes became the partitioned table's, not built again.
    const { rows: indexes } = await db.query(
      `SELECT c.relname AS index, p.relname AS parent
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE c.relname LIKE 'event_store_legacy_%' ORDER BY 1`,
    );
    expect(indexes.map((r) => `${r.parent} <- ${r.index}`)).toEqual([
      'event_store_correlation_idx <- event_store_legacy_correlation_idx',
      'event_store_name_idx <- event_store_legacy_name_idx',
      'event_store_occurred_at_idx <- event_store_legacy_occurred_at_idx',
      'event_store_pkey <- event_store_legacy_pkey',
      'event_store_warehouse_idx <- event_store_legacy_warehouse_idx',
    ]);
  });

  it('keeps the converted store append-only, deduplicated by id and its streams unique', async () => {
    const { rows } = await db.query(`SELECT id FROM event_store WHERE aggregate_id = 'SKU-7' ORDER BY id LIMIT 1`);
    await expect(db.query(`UPDATE event_store SET name = 'x' WHERE id = $1`, [rows[0].id])).rejects.toThrow(
      /append-only/,
    );
    await expect(db.query(`DELETE FROM event_store WHERE id = $1`, [rows[0].id])).rejects.toThrow(/append-only/);
    const again = await db.query(
      `INSERT INTO event_store SELECT * FROM event_store WHERE id = $1 ON CONFLICT (id) DO NOTHING`,
      [rows[0].id],
    );
    expect(again.rowCount).toBe(0);
    await expect(
      db.query(
        `INSERT INTO event_store
         SELECT uuid_v7_floor(recorded_at + interval '1 ms'), tenant_id, name, version, occurred_at, recorded_at,
                stored_at, source, actor, warehouse_id, correlation_id, causation_id, aggregate_type, aggregate_id,
                stream_position, payload
         FROM event_store WHERE id = $1`,
        [rows[0].id],
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'event_store_legacy_stream_position_uq' });
  });

  it('goes back to one table with the same events', async () => {
    const before = await fingerprint();
    // Undone back to before partitioning: the migrations after it first, newest first.
    await migrate(migrations, true);
    expect(await fingerprint()).toEqual(before);
    const { rows } = await db.query(`SELECT relkind FROM pg_class WHERE relname = 'event_store'`);
    expect(rows).toEqual([{ relkind: 'r' }]);
    await migrate(migrations);
    expect(await fingerprint()).toEqual(before);
  });
});
