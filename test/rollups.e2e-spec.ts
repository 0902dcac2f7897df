import { Injectable, Module } from '@nestjs/common';
import {
  DAY_MS,
  dayStart,
  DeadLetterService,
  ensureEventPartitions,
  type EventEnvelope,
  eventPartitions,
  EventStoreRepository,
  type HistogramBucket,
  ListenerRunner,
  percentiles,
  QueuedListener,
  type RollupTier,
  rollupWindow,
  RollupsRepository,
  TIER_LIFETIME_DAYS,
  TIER_MS,
  uuidV7Floor,
} from '@wms/events';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaintenanceProcessor } from '../apps/worker/src/maintenance.processor.js';
import { Rollups1764800000000 } from '../migrations/1764800000000-rollups.js';
import { migrations } from '../migrations/index.js';
import { testEnv } from './support/env.js';
import { startSystem, type TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const LISTENER = 'test-rollups-when-tracking-updated';

@Injectable()
class TestListeners {
  @QueuedListener({ name: LISTENER, events: ['carrier.tracking_updated'] })
  handle() {}
}

@Module({ providers: [TestListeners] })
class TestListenersModule {}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const NAMES = ['carrier.tracking_updated', 'inventory.adjusted', 'goods.received', 'order.created', 'pick.completed'];
// WH3 is none of the supervisor's warehouses; null is a tenant-wide event.
const WAREHOUSES = ['WH1', 'WH2', 'WH3', null];
/** Windows of every tier, and their edges: minutes up to 2 h, hours up to 3 days, days up to 30 days. */
const WINDOWS = [1, 60, 120, 121, 1440, 3 * 1440, 3 * 1440 + 1, 7 * 1440, 30 * 1440];

/** A deterministic spread of times (a linear congruential generator). */
const random = (() => {
  let seed = 42;
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
})();

const tierOf = (bucketMinutes: number): RollupTier =>
  bucketMinutes === 1 ? 'minute' : bucketMinutes === 60 ? 'hour' : 'day';
const byBucket = (h: HistogramBucket[]) => [...h].sort((a, b) => a.bucket - b.bucket);
/** A pg pool or client as the partition helpers want it: a query that answers rows. */
const rowsOf = (c: pg.Pool | pg.PoolClient) => ({
  query: (sql: string, params?: unknown[]) => c.query(sql, params).then((r) => r.rows),
});

/** Where a reader looks: the SQL condition on a row's warehouse_id, the same scope as the dashboard's. */
interface Scope {
  query: string;
  token: 'admin' | 'supervisor';
  warehouses: string[] | 'all';
  warehouseId?: string;
  on: (alias: string) => string;
}
const SCOPES: Scope[] = [
  { query: '', token: 'admin', warehouses: 'all', on: () => 'true' },
  {
    query: '&warehouseId=WH2',
    token: 'admin',
    warehouses: 'all',
    warehouseId: 'WH2',
    on: (a) => `${a}.warehouse_id = 'WH2'`,
  },
  {
    query: '',
    token: 'supervisor',
    warehouses: ['WH1', 'WH2'],
    on: (a) => `(${a}.warehouse_id IS NULL OR ${a}.warehouse_id IN ('WH1', 'WH2'))`,
  },
];

describe(RollupsRepository.name, () => {
  let sys: TestSystem;
  let store: EventStoreRepository;
  let rollups: RollupsRepository;
  let runner: ListenerRunner;
  let partitionsBefore: Set<string>;
  const events: EventEnvelope[] = [];
  let n = 0;

  /** An event of this suite's tenant accepted at `ms` (its UUIDv7 id and recorded_at both say so). */
  const envelopeAt = (ms: number): EventEnvelope => {
    const i = n++;
    const id = uuidv7({ msecs: ms });
    const at = new Date(ms).toISOString();
    return {
      id,
      name: NAMES[i % NAMES.length],
      version: 1,
      occurredAt: at,
      recordedAt: at,
      source: 'test',
      actor: { type: 'system', id: 'test' },
      tenantId: sys.tenant,
      warehouseId: WAREHOUSES[i % WAREHOUSES.length],
      correlationId: id,
      causationId: null,
      aggregateType: 'order',
      aggregateId: `SO-RU${i}`,
      streamPosition: 1,
      payload: tracking({ orderNumber: `SO-RU${i}` }).payload,
    };
  };

  /** Stores `list` in concurrent batches of `size` through the store's own write path; each batch also redelivers
   *  the last events of the one before it. Returns how many the calls reported stored. */
  const storeConcurrently = async (list: EventEnvelope[], size = 200, overlap = 40) => {
    const batches: EventEnvelope[][] = [];
    for (let i = 0; i < list.length; i += size) batches.push(list.slice(Math.max(0, i - overlap), i + size));
    const results = await Promise.all(batches.map((b) => store.appendMany(b)));
    return results.flat().filter(Boolean).length;
  };

  /** What a full recount of the store (and of the receipts and dead letters) says for a window and a scope. */
  const recount = async (from: string, to: string, tier: RollupTier, scope: Scope) => {
    const params = [sys.tenant, from, to];
    const counted = await sys.db.query(
      `SELECT date_trunc('${tier}', recorded_at, 'UTC') AS at, name, count(*)::int AS n
       FROM event_store e
       WHERE tenant_id = $1 AND recorded_at >= $2 AND recorded_at < $3 AND ${scope.on('e')}
       GROUP BY 1, 2 ORDER BY 1, 2`,
      params,
    );
    const throughput: { minute: string; total: number; byName: Record<string, number> }[] = [];
    for (const r of counted.rows) {
      const minute = (r.at as Date).toISOString().replace('.000Z', 'Z');
      if (throughput.at(-1)?.minute !== minute) throughput.push({ minute, total: 0, byName: {} });
      throughput.at(-1)!.total += r.n;
      throughput.at(-1)!.byName[r.name] = r.n;
    }
    const failed = await sys.db.query(
      `SELECT date_trunc('${tier}', last_failed_at, 'UTC') AS at, count(*)::int AS count
       FROM dead_letters d
       WHERE tenant_id = $1 AND last_failed_at >= $2 AND last_failed_at < $3 AND ${scope.on('d')}
       GROUP BY 1 ORDER BY 1`,
      params,
    );
    const store = await sys.db.query(
      `SELECT rollup_latency_bucket(extract(epoch FROM stored_at - recorded_at) * 1000) AS bucket, count(*)::int AS n
       FROM event_store e
       WHERE tenant_id = $1 AND stored_at >= $2 AND stored_at < $3 AND ${scope.on('e')}
       GROUP BY 1`,
      params,
    );
    const listener = await sys.db.query(
      `SELECT rollup_latency_bucket(extract(epoch FROM r.handled_at - r.recorded_at) * 1000) AS bucket, count(*)::int AS n
       FROM listener_receipts r JOIN event_store e ON e.id = r.event_id
       WHERE r.tenant_id = $1 AND r.listener = $4 AND r.handled_at >= $2 AND r.handled_at < $3 AND ${scope.on('e')}
       GROUP BY 1`,
      [...params, LISTENER],
    );
    return {
      throughput,
      failuresPerMinute: failed.rows.map((r) => ({ minute: r.at.toISOString().replace('.000Z', 'Z'), count: r.count })),
      store: byBucket(store.rows),
      listener: byBucket(listener.rows),
    };
  };

  /** Every window of every tier, for every scope: the dashboard's figures and the rollups' histograms equal a recount. */
  const expectRollupsToEqualRecount = async () => {
    for (const scope of SCOPES) {
      for (const minutes of WINDOWS) {
        const res = await sys.get(`/dashboard/stats?minutes=${minutes}${scope.query}`, {
          authorization: `Bearer ${sys.tokens[scope.token]}`,
        });
        expect(res.status).toBe(200);
        const stats = res.body;
        const what = `${minutes} min, ${scope.token}${scope.query}`;
        expect(stats.bucketMinutes, what).toBe(TIER_MS[rollupWindow(minutes).tier] / MINUTE_MS);
        const expected = await recount(stats.from, stats.to, tierOf(stats.bucketMinutes), scope);
        expect(stats.throughput, what).toEqual(expected.throughput);
        expect(stats.failuresPerMinute, what).toEqual(expected.failuresPerMinute);
        expect(stats.storeLatencyMs, what).toEqual(percentiles(expected.store));
        expect(stats.listenerLatencyMs[LISTENER] ?? null, what).toEqual(
          expected.listener.length ? percentiles(expected.listener) : null,
        );
        // The histograms themselves, bucket by bucket.
        const window = rollupWindow(minutes);
        const exact = await recount(window.from.toISOString(), window.to.toISOString(), window.tier, scope);
        const tenantScope = { tenantId: sys.tenant, warehouses: scope.warehouses, warehouseId: scope.warehouseId };
        const histogram = (rows: { bucket: number; n: number }[]) =>
          byBucket(rows.map(({ bucket, n }) => ({ bucket, n })));
        expect(histogram(await rollups.latency(window, tenantScope, '')), what).toEqual(exact.store);
        expect(histogram(await rollups.latency(window, tenantScope, LISTENER)), what).toEqual(exact.listener);
      }
    }
  };

  const deltaRows = async () =>
    (
      await sys.db.query(
        `SELECT (SELECT count(*) FROM rollup_count_deltas WHERE tenant_id = $1)::int
              + (SELECT count(*) FROM rollup_latency_deltas WHERE tenant_id = $1)::int AS n`,
        [sys.tenant],
      )
    ).rows[0].n as number;

  beforeAll(async () => {
    sys = await startSystem({ imports: [TestListenersModule] });
    store = sys.worker!.get(EventStoreRepository);
    rollups = sys.worker!.get(RollupsRepository);
    runner = sys.worker!.get(ListenerRunner);
    partitionsBefore = new Set((await eventPartitions(rowsOf(sys.db))).map((p) => p.name));
    // The scheduled compaction waits: this suite folds the deltas itself, at the moments it chooses.
    await sys.worker!.get(MaintenanceProcessor).worker.pause();
    const now = Date.now();
    const times: number[] = [];
    for (let i = 0; i < 1200; i++) times.push(now - random() * 2 * HOUR_MS); // the minute tier
    for (let i = 0; i < 900; i++) times.push(now - random() * 3 * DAY_MS); // the hour tier
    for (let i = 0; i < 700; i++) times.push(now - random() * 30 * DAY_MS); // the day tier
    for (let i = 0; i < 100; i++) times.push(now - (30 + random() * 10) * DAY_MS); // before every window
    // On and around the tiers' boundaries: whole hours and days, a millisecond either side.
    for (const edge of [now - (now % HOUR_MS), dayStart(now), dayStart(now) - 3 * DAY_MS, dayStart(now) - 7 * DAY_MS])
      times.push(edge - 1, edge, edge + 1);
    events.push(...times.map(envelopeAt));
  });
  afterAll(async () => {
    // The past days' partitions this suite made hold only its events.
    for (const p of await eventPartitions(rowsOf(sys.db)))
      if (!partitionsBefore.has(p.name) && p.from && p.from < uuidV7Floor(dayStart(Date.now())))
        await sys.db.query(`DROP TABLE IF EXISTS ${p.name}`);
    await sys?.close();
  });

  it('equal a full recount of the store in every tier, while batches are stored, redelivered and compacted concurrently', async () => {
    const half = Math.floor(events.length / 2);
    expect(await storeConcurrently(events.slice(0, half))).toBe(half);
    // Half folded into the tiers, the rest stored meanwhile (with a compaction running alongside): both kinds of row.
    const [stored] = await Promise.all([storeConcurrently(events.slice(half)), rollups.compact(), rollups.compact()]);
    expect(stored).toBe(events.length - half);
    // Listeners' receipts, concurrently, some of them twice (the second run handles nothing).
    const handled = events.filter((e, i) => i % 7 === 0);
    const runs = await Promise.all([...handled, ...handled.slice(0, 50)].map((e) => runner.run(LISTENER, e)));
    expect(runs.filter(Boolean)).toHaveLength(handled.length);
    // Jobs that land in the dead-letter store; their dead_letter.added events are stored like any other.
    const deadLetters = sys.worker!.get(DeadLetterService);
    for (const e of events.slice(-5))
      await deadLetters.record(
        {
          queue: 'events',
          name: 'process-event',
          id: e.id,
          data: e,
          attemptsMade: 10,
          timestamp: Date.now(),
          stacktrace: [],
        },
        new Error(`store unavailable for ${e.id}`),
      );
    await waitFor('the dead_letter.added events to be stored', async () => {
      const { rows } = await sys.db.query(`SELECT count(*)::int AS n FROM event_outbox WHERE tenant_id = $1`, [
        sys.tenant,
      ]);
      return rows[0].n === 0;
    });
    expect(await deltaRows()).toBeGreaterThan(0);
    await expectRollupsToEqualRecount();
  });

  it('count nothing twice when every batch is delivered again, and still equal the recount once compacted', async () => {
    expect(await storeConcurrently(events, 300, 100)).toBe(0);
    expect(await store.appendMany(events.slice(0, 10))).toEqual(Array(10).fill(false));
    const handled = events.filter((e, i) => i % 7 === 0).slice(0, 20);
    expect((await Promise.all(handled.map((e) => runner.run(LISTENER, e)))).filter(Boolean)).toHaveLength(0);
    expect(await rollups.compact()).toBeGreaterThan(0);
    expect(await deltaRows()).toBe(0);
    await expectRollupsToEqualRecount();
    // Only minute rows the minute tier still keeps were written (older events went to the hour and day tiers).
    const { rows } = await sys.db.query(
      `SELECT tier, min(at) AS oldest FROM rollup_counts WHERE tenant_id = $1 GROUP BY tier`,
      [sys.tenant],
    );
    const oldest = Object.fromEntries(rows.map((r) => [r.tier, (r.oldest as Date).getTime()]));
    expect(oldest.minute).toBeGreaterThanOrEqual(Date.now() - TIER_LIFETIME_DAYS.minute * DAY_MS - MINUTE_MS);
    expect(oldest.day).toBeLessThan(Date.now() - 30 * DAY_MS);
  });

  it('give /metrics every tenant’s events of the last hour and publish → stored latency of the last 5 minutes', async () => {
    // Every tenant's figures, while other suites store events: the scrape lies between a read of the rollups just
    // before it and one just after it, in the same windows (retried when a minute began meanwhile). That the rollups
    // equal a recount of the store is the tests above, per tenant.
    const storedByName = async (window: ReturnType<typeof rollupWindow>) => {
      const byName = new Map<string, number>();
      for (const r of await rollups.counts(window)) byName.set(r.name, (byName.get(r.name) ?? 0) + r.stored);
      return byName;
    };
    for (;;) {
      const hour = rollupWindow(60);
      const five = rollupWindow(5);
      const before = await storedByName(hour);
      const latencyBefore = await rollups.latency(five, undefined, '');
      const res = await fetch(`${sys.url}/metrics`, { headers: { authorization: `Bearer ${sys.tokens.admin}` } });
      const text = await res.text();
      const after = await storedByName(hour);
      const latencyAfter = await rollups.latency(five, undefined, '');
      if (rollupWindow(60).from.getTime() !== hour.from.getTime()) continue;
      const metric = (name: string, label: string) =>
        Number(new RegExp(`^${name}\\{${label}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      expect([...after.keys()]).toEqual(expect.arrayContaining(NAMES));
      for (const [name, n] of after) {
        const scraped = metric('wms_events_stored_last_hour', `name="${name}"`);
        expect(scraped, name).toBeGreaterThanOrEqual(before.get(name) ?? 0);
        expect(scraped, name).toBeLessThanOrEqual(n);
      }
      // Quantiles move with what was stored meanwhile: when nothing was, the scrape's are the rollups' own.
      if (JSON.stringify(latencyBefore) === JSON.stringify(latencyAfter)) {
        const expected = percentiles(latencyAfter);
        for (const q of ['p50', 'p95', 'p99'] as const)
          expect(metric('wms_store_latency_ms', `quantile="${q}"`), q).toBe(expected[q] ?? 0);
      } else {
        for (const q of ['p50', 'p95', 'p99'] as const)
          expect(metric('wms_store_latency_ms', `quantile="${q}"`), q).toBeGreaterThanOrEqual(0);
      }
      return;
    }
  });

  it('read percentiles within 9.1 % of the exact ones (fixed log-spaced buckets, four per doubling)', async () => {
    const window = rollupWindow(30 * 1440);
    const scope = { tenantId: sys.tenant, warehouses: 'all' as const };
    const read = percentiles(await rollups.latency(window, scope, ''));
    const { rows } = await sys.db.query(
      `SELECT percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - recorded_at) * 1000) AS p
       FROM event_store WHERE tenant_id = $1 AND stored_at >= $2`,
      [sys.tenant, window.from],
    );
    const exact = rows[0].p.map(Number);
    [read.p50, read.p95, read.p99].forEach((p, i) =>
      // ± a factor 2^(1/8) of the exact value, and half a millisecond of rounding.
      expect(Math.abs(p! - exact[i]), `${p} vs ${exact[i]}`).toBeLessThanOrEqual(exact[i] * (2 ** (1 / 8) - 1) + 0.5),
    );
  });

  it('refuse a window outside 1 minute to 30 days, naming the field', async () => {
    for (const minutes of [0, 30 * 1440 + 1, 1.5]) {
      const res = await sys.get(`/dashboard/stats?minutes=${minutes}`);
      expect(res.status, String(minutes)).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['minutes']);
    }
  });

  it('prune each tier after its lifetime, and fold no delta into a tier that would not keep it', async () => {
    const tenant = `t-prune-${randomUUID().slice(0, 8)}`;
    const ago = (days: number) => new Date(Date.now() - days * DAY_MS);
    const rows: [RollupTier, Date][] = [
      ['minute', ago(TIER_LIFETIME_DAYS.minute + 0.1)],
      ['minute', ago(TIER_LIFETIME_DAYS.minute - 0.1)],
      ['hour', ago(TIER_LIFETIME_DAYS.hour + 1)],
      ['hour', ago(TIER_LIFETIME_DAYS.hour - 1)],
      ['day', ago(TIER_LIFETIME_DAYS.day + 1)],
      ['day', ago(TIER_LIFETIME_DAYS.day - 1)],
    ];
    for (const [tier, at] of rows) {
      await sys.db.query(
        `INSERT INTO rollup_counts (tier, at, tenant_id, warehouse_id, event_name, stored, failed)
         VALUES ($1, date_trunc($1, $2::timestamptz, 'UTC'), $3, 'WH1', 'goods.received', 1, 0)`,
        [tier, at, tenant],
      );
      await sys.db.query(
        `INSERT INTO rollup_latency (tier, at, tenant_id, warehouse_id, listener, bucket, n)
         VALUES ($1, date_trunc($1, $2::timestamptz, 'UTC'), $3, 'WH1', '', 20, 1)`,
        [tier, at, tenant],
      );
    }
    expect(await rollups.prune()).toBeGreaterThanOrEqual(6);
    const kept = async (table: string) =>
      (await sys.db.query(`SELECT tier FROM ${table} WHERE tenant_id = $1 ORDER BY tier`, [tenant])).rows.map(
        (r) => r.tier,
      );
    expect(await kept('rollup_counts')).toEqual(['day', 'hour', 'minute']);
    expect(await kept('rollup_latency')).toEqual(['day', 'hour', 'minute']);
    // A delta older than the minute tier's lifetime (an event stored days late) goes to the hour and day tiers only.
    await sys.db.query(`DELETE FROM rollup_counts WHERE tenant_id = $1`, [tenant]);
    await sys.db.query(
      `INSERT INTO rollup_count_deltas (at, tenant_id, warehouse_id, event_name, stored, failed)
       VALUES (date_trunc('minute', $1::timestamptz, 'UTC'), $2, 'WH1', 'goods.received', 3, 0)`,
      [ago(TIER_LIFETIME_DAYS.minute + 1), tenant],
    );
    await rollups.compact();
    expect(await kept('rollup_counts')).toEqual(['day', 'hour']);
  });
});

describe(Rollups1764800000000.name, () => {
  const name = `${new URL(testEnv.databaseUrl).pathname.slice(1)}_rollups_${randomUUID().slice(0, 8)}`;
  const url = Object.assign(new URL(testEnv.databaseUrl), { pathname: `/${name}` }).toString();
  let db: pg.Pool;
  let ds: DataSource;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: testEnv.databaseUrl });
    await c.connect();
    await c.query(sql).finally(() => c.end());
  };
  const migrate = async (list: typeof migrations) => {
    const m = new DataSource({ type: 'postgres', url, migrations: list, migrationsTableName: 'typeorm_migrations' });
    await m.initialize();
    await m.runMigrations({ transaction: 'each' }).finally(() => m.destroy());
  };

  beforeAll(async () => {
    await admin(`CREATE DATABASE "${name}"`);
    db = new pg.Pool({ connectionString: url, max: 2 });
    await migrate(migrations.slice(0, migrations.indexOf(Rollups1764800000000)));
    // A store written before rollups existed: 4,000 events over the last 100 days (past the hour tier's 90), two
    // tenants, their latencies 1 ms to 2 s; receipts of a listener for every third; a few dead letters.
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      await ensureEventPartitions(
        rowsOf(client),
        Array.from({ length: 101 }, (_, d) => Date.now() - d * DAY_MS),
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await db.query(`
      INSERT INTO event_store (id, tenant_id, name, version, occurred_at, recorded_at, stored_at, source, actor,
                               warehouse_id, correlation_id, aggregate_type, aggregate_id, stream_position, payload)
      SELECT uuid_v7_floor(ts), CASE WHEN g % 3 = 0 THEN 't-a' ELSE 't-b' END,
             (ARRAY['goods.received', 'order.created', 'pick.completed'])[g % 3 + 1], 1, ts, ts,
             ts + power(2000, (g % 97) / 96.0)::float8 * interval '1 millisecond', 'test', '{"type":"system","id":"test"}',
             (ARRAY['WH1', 'WH2', NULL])[g % 5 % 3 + 1], gen_random_uuid(), 'order', 'SO-' || g, 1, '{}'
      FROM generate_series(1, 4000) g,
           LATERAL (SELECT now() - g * interval '2160 seconds' + (g % 1000) * interval '1 microsecond' AS ts) x`);
    await db.query(`
      INSERT INTO listener_receipts (listener, event_id, tenant_id, recorded_at, handled_at)
      SELECT 'old-listener', id, tenant_id, recorded_at, stored_at + interval '5 milliseconds'
      FROM event_store WHERE stream_position = 1 AND aggregate_id::text ~ '[0369]$'`);
    await db.query(`
      INSERT INTO dead_letters (tenant_id, queue, job_name, job_id, event_id, event_name, warehouse_id, payload,
                                error_message, fingerprint, attempts, first_failed_at, last_failed_at)
      SELECT tenant_id, 'events', 'process-event', id::text, id, name, warehouse_id, '{}', 'boom', 'f', 10,
             recorded_at, recorded_at + interval '1 second'
      FROM event_store WHERE aggregate_id LIKE '%17'`);
    await migrate(migrations);
    ds = new DataSource({ type: 'postgres', url });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.end();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it('counts the existing store, its receipts and dead letters, into tiers that equal a recount', async () => {
    const rollups = new RollupsRepository(ds);
    for (const tenantId of ['t-a', 't-b']) {
      for (const minutes of WINDOWS) {
        const window = rollupWindow(minutes);
        const params = [tenantId, window.from, window.to];
        const counts = await db.query(
          `SELECT to_char(date_trunc('${window.tier}', recorded_at, 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:00"Z"') AS at,
                  name, count(*)::int AS stored
           FROM event_store WHERE tenant_id = $1 AND recorded_at >= $2 AND recorded_at < $3 GROUP BY 1, 2 ORDER BY 1, 2`,
          params,
        );
        const failed = await db.query(
          `SELECT count(*)::int AS n FROM dead_letters WHERE tenant_id = $1 AND last_failed_at >= $2 AND last_failed_at < $3`,
          params,
        );
        const read = await rollups.counts(window, { tenantId, warehouses: 'all' });
        const what = `${tenantId}, ${minutes} min`;
        expect(
          read.filter((r) => r.stored).map(({ at, name, stored }) => ({ at, name, stored })),
          what,
        ).toEqual(counts.rows);
        expect(
          read.reduce((s, r) => s + r.failed, 0),
          what,
        ).toBe(failed.rows[0].n);
        for (const [listener, sql] of [
          ['', `SELECT stored_at AS done, recorded_at FROM event_store WHERE tenant_id = $1`],
          ['old-listener', `SELECT handled_at AS done, recorded_at FROM listener_receipts WHERE tenant_id = $1`],
        ]) {
          const histogram = await db.query(
            `SELECT rollup_latency_bucket(extract(epoch FROM done - recorded_at) * 1000) AS bucket, count(*)::int AS n
             FROM (${sql}) x WHERE done >= $2 AND done < $3 GROUP BY 1`,
            params,
          );
          const latency = await rollups.latency(window, { tenantId, warehouses: 'all' }, listener);
          expect(byBucket(latency.map(({ bucket, n }) => ({ bucket, n }))), `${what} ${listener}`).toEqual(
            byBucket(histogram.rows),
          );
        }
      }
    }
    // Each tier only as far back as it lives; the day tier has the oldest day.
    const { rows } = await db.query(`SELECT tier, min(at) AS oldest FROM rollup_counts GROUP BY tier`);
    const oldest = Object.fromEntries(rows.map((r) => [r.tier, (r.oldest as Date).getTime()]));
    expect(oldest.minute).toBeGreaterThanOrEqual(Date.now() - TIER_LIFETIME_DAYS.minute * DAY_MS - MINUTE_MS);
    expect(oldest.hour).toBeGreaterThanOrEqual(Date.now() - TIER_LIFETIME_DAYS.hour * DAY_MS - HOUR_MS);
    expect(oldest.day).toBeLessThan(Date.now() - 95 * DAY_MS);
  });
});
