// `node scripts/rollup-writes.mjs`: how the rollups' write path was chosen. Not a test; prints figures.
// On a fresh database, concurrent writers store batches with the store's insert statement and count them three ways:
// not at all, appended deltas (what the product does: EventStoreRepository.appendMany), or upserts straight into the
// tiers in key order. Then concurrent listener transactions count their handling the same three ways. Everything is one tenant with four
// warehouses and 30 event names — the hot rows a real site has.
//   ROLLUP_SECONDS (default 8) per run   ROLLUP_BATCH (default 50) events per batch
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import {
  EventPartitions,
  EventStoreRepository,
  foldCountsSql,
  foldLatencySql,
  ListenerReceiptsRepository,
  RollupsRepository,
} from '@wms/events';
import { build, createDatabase, dropDatabase, log, migrate, provisionPostgres } from './services.mjs';

const SECONDS = Number(process.env.ROLLUP_SECONDS ?? 8);
const BATCH = Number(process.env.ROLLUP_BATCH ?? 50);
const NAMES = Array.from({ length: 30 }, (_, i) => `bench.event_${i}`);
const WAREHOUSES = ['WH1', 'WH2', 'WH3', 'WH4'];

/** The store's insert statement (store/event-store.repository.ts) with `extra` CTEs after it, counting `stored`. */
const insertSql = (extra) => `
  WITH stored AS (
    INSERT INTO event_store (id, tenant_id, name, version, occurred_at, recorded_at, source, actor, warehouse_id,
                             correlation_id, causation_id, aggregate_type, aggregate_id, stream_position, payload)
    SELECT e.id, e."tenantId", e.name, e.version, e."occurredAt", e."recordedAt", e.source, e.actor, e."warehouseId",
           e."correlationId", e."causationId", e."aggregateType", e."aggregateId", e."streamPosition", e.payload
    FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, "tenantId" text, name text, version int, "occurredAt" timestamptz,
         "recordedAt" timestamptz, source text, actor jsonb, "warehouseId" text, "correlationId" uuid, "causationId" uuid,
         "aggregateType" text, "aggregateId" text, "streamPosition" bigint, payload jsonb)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, tenant_id, warehouse_id, name, recorded_at, stored_at
  )${extra}
  SELECT id FROM stored`;

/** The alternative: the same statement upserts the batch's rows of every tier, in key order. */
const UPSERTS = `,
  counted AS (${foldCountsSql(`(SELECT date_trunc('minute', recorded_at, 'UTC') AS at, tenant_id,
      coalesce(warehouse_id, '') AS warehouse_id, name AS event_name, count(*) AS stored, 0 AS failed
      FROM stored GROUP BY 1, 2, 3, 4)`)}),
  timed AS (${foldLatencySql(`(SELECT date_trunc('minute', stored_at, 'UTC') AS at, tenant_id,
      coalesce(warehouse_id, '') AS warehouse_id, '' AS listener,
      rollup_latency_bucket(extract(epoch FROM stored_at - recorded_at) * 1000) AS bucket, count(*) AS n
      FROM stored GROUP BY 1, 2, 3, 5)`)})`;

/** A listener's receipt without counting, and its latency upserted into every tier in the same transaction. */
const RECEIPT = `INSERT INTO listener_receipts (listener, event_id, tenant_id, recorded_at) VALUES ('bench', $1, $2, $3)
                 RETURNING handled_at::text`;
const UPSERT_HANDLED =
  foldLatencySql(`(SELECT date_trunc('minute', $1::timestamptz, 'UTC') AS at, $2::text AS tenant_id,
    $3::text AS warehouse_id, 'bench'::text AS listener,
    rollup_latency_bucket(extract(epoch FROM $1::timestamptz - $4::timestamptz) * 1000) AS bucket, 1 AS n)`);

let seq = 0;
const run = Date.now();
const envelope = () => {
  const id = uuidv7();
  const at = new Date().toISOString();
  return {
    id,
    name: NAMES[seq % NAMES.length],
    version: 1,
    occurredAt: at,
    recordedAt: at,
    source: 'bench',
    actor: { type: 'system', id: 'bench' },
    tenantId: 'bench',
    warehouseId: WAREHOUSES[seq++ % WAREHOUSES.length],
    correlationId: id,
    causationId: null,
    aggregateType: 'order',
    aggregateId: `SO-${run}-${seq}`,
    streamPosition: 1,
    payload: { orderNumber: `SO-${seq}` },
  };
};

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/** `writers` loops doing `work` back to back for SECONDS; how many items per second, and each call's time. */
async function drive(writers, work, itemsPerCall) {
  const times = [];
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (Date.now() < until) {
        const t = performance.now();
        await work();
        times.push(performance.now() - t);
      }
    }),
  );
  times.sort((a, b) => a - b);
  return {
    perSecond: Math.round((times.length * itemsPerCall) / SECONDS),
    p50Ms: +percentile(times, 0.5).toFixed(1),
    p99Ms: +percentile(times, 0.99).toFixed(1),
  };
}

build();
const pg = await provisionPostgres();
const database = `wms_rollup_writes_${Date.now()}`;
const url = await createDatabase(pg.serverUrl, database);
migrate(url);
const db = new DataSource({ type: 'postgres', url, extra: { max: 60 } });
await db.initialize();
const results = [];
try {
  const store = new EventStoreRepository(db, new EventPartitions(db));
  const batch = () => Array.from({ length: BATCH }, envelope);
  const writes = {
    none: () => db.query(insertSql(''), [JSON.stringify(batch())]),
    deltas: () => store.appendMany(batch()),
    upserts: () => db.query(insertSql(UPSERTS), [JSON.stringify(batch())]),
  };
  const rollups = new RollupsRepository(db);
  // Twice over, so the machine's drift falls on every mode.
  for (const writers of [2, 4, 8, 2, 4, 8]) {
    for (const [mode, write] of Object.entries(writes)) {
      const r = await drive(writers, write, BATCH);
      results.push({
        path: 'store',
        writers,
        mode,
        eventsPerSecond: r.perSecond,
        batchP50Ms: r.p50Ms,
        batchP99Ms: r.p99Ms,
      });
      log('store', results.at(-1));
      await rollups.compact();
    }
  }
  // A queued listener: its receipt, a little work of its own (2 ms), one transaction each. Deltas are counted by the
  // receipt's own statement (ListenerReceiptsRepository.claim); upserts last, the shortest hold of a hot row.
  const receipts = new ListenerReceiptsRepository(db);
  const listenerModes = {
    none: async (m, event) => {
      await m.query(RECEIPT, [event.id, event.tenantId, event.recordedAt]);
      await m.query(`SELECT pg_sleep(0.002)`);
    },
    deltas: async (m, event) => {
      await receipts.claim(m, 'bench', event);
      await m.query(`SELECT pg_sleep(0.002)`);
    },
    upserts: async (m, event) => {
      const [{ handled_at }] = await m.query(RECEIPT, [event.id, event.tenantId, event.recordedAt]);
      await m.query(`SELECT pg_sleep(0.002)`);
      await m.query(UPSERT_HANDLED, [handled_at, event.tenantId, event.warehouseId, event.recordedAt]);
    },
  };
  for (const round of [1, 2]) {
    for (const [mode, handle] of Object.entries(listenerModes)) {
      const r = await drive(50, () => db.transaction((m) => handle(m, envelope())), 1);
      results.push({
        path: 'listener',
        writers: 50,
        mode,
        eventsPerSecond: r.perSecond,
        batchP50Ms: r.p50Ms,
        batchP99Ms: r.p99Ms,
      });
      log('listener', { round, ...results.at(-1) });
      await rollups.compact();
    }
  }
} finally {
  await db.destroy();
  await dropDatabase(pg.serverUrl, database).catch(() => {});
  await pg.stop();
}
console.table(results);
console.log(JSON.stringify(results));
