// `npm run bench:history`: what history costs. On a fresh database, with its own api and worker running, it loads
// events spread over several day partitions, then prints:
//   - bytes on disk per event (pg_total_relation_size of the partitions: table, indexes, TOAST / events);
//   - the archive rate (events/s written to ARCHIVE_DIR and verified) and the prune rate (events/s leaving the store
//     when an archived partition is detached and dropped), from `npm run wms -- events:archive`;
//   - the store's batched write rate (EventStoreRepository.appendOnce, as the worker calls it) into the partitioned
//     `event_store` and into a plain single-table copy (same columns, indexes and trigger), alternating rounds in one
//     run, and their ratio (target: partitioned at most 5 % slower).
// Not a test: it prints figures and exits 0.
//   BENCH_HISTORY_EVENTS (default 300000) events loaded   BENCH_HISTORY_DAYS (5) partitions they spread over
//   BENCH_WRITE_EVENTS (3000) events per write round       BENCH_WRITE_ROUNDS (40) pairs of rounds
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, log, root, startBenchSystem } from './services.mjs';

const EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 300_000);
const DAYS = Number(process.env.BENCH_HISTORY_DAYS ?? 5);
const WRITE_EVENTS = Number(process.env.BENCH_WRITE_EVENTS ?? 3_000);
const WRITE_ROUNDS = Number(process.env.BENCH_WRITE_ROUNDS ?? 40);
/** The worker's concurrency: this many jobs store their event at once, grouped into statements by the repository. */
const JOBS = 100;
const RETENTION_DAYS = 7;
const DAY_MS = 86_400_000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

build();
// After the build: the compiled libraries.
const { DataSource } = await import('typeorm');
const { v7: uuidv7 } = await import('uuid');
const { dayStart, ensureEventPartitions, EventPartitions, EventStoreRepository, uuidV7Floor } =
  await import('@wms/events');

const archiveDir = mkdtempSync(path.join(os.tmpdir(), 'wms-bench-archive-'));
const system = await startBenchSystem({
  name: 'bench_history',
  env: {
    ARCHIVE_DIR: archiveDir,
    // The running worker's hourly archive keeps its hands off the loaded days; the archive below is run by hand.
    EVENT_RETENTION_DAYS: '3650',
  },
});
const { databaseUrl, env } = system;

const db = new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 20 } });
await db.initialize();

// 1. History: EVENTS events over DAYS days past the retention, bulk-inserted (backdated, so not through the api).
const today = dayStart(Date.now());
const days = Array.from({ length: DAYS }, (_, i) => today - (RETENTION_DAYS + DAYS - i) * DAY_MS);
await db.transaction((m) => ensureEventPartitions(m, days));
log('loading history', { events: EVENTS, days: DAYS });
const l0 = performance.now();
const perDay = Math.ceil(EVENTS / DAYS);
for (const day of days) {
  for (let from = 0; from < perDay; from += 50_000) {
    const n = Math.min(50_000, perDay - from);
    await db.query(
      `INSERT INTO event_store (id, tenant_id, name, version, occurred_at, recorded_at, stored_at, source, actor,
                                warehouse_id, correlation_id, aggregate_type, aggregate_id, stream_position, payload)
       SELECT (lpad(to_hex(ms), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' ||
               substr(md5(random()::text), 1, 15))::uuid,
              'tenant-' || (g % 5), 'carrier.tracking_updated', 1, at, at, at + interval '4 ms', 'api',
              jsonb_build_object('type', 'integration', 'id', 'erp-' || (g % 5)), 'WH' || (g % 4 + 1), gen_random_uuid(),
              'order', 'WH' || (g % 4 + 1) || '/SO-' || (g / 10), g % 10 + 1,
              jsonb_build_object('warehouseId', 'WH' || (g % 4 + 1), 'orderNumber', 'SO-' || (g / 10),
                                 'carrierCode', 'DHL', 'trackingNumber', 'JD' || lpad(g::text, 12, '0'),
                                 'status', 'in_transit', 'detail', 'L' || g)
       FROM generate_series($2::bigint, $2::bigint + $3 - 1) g,
            LATERAL (SELECT $1::bigint + g * ${Math.floor(DAY_MS / perDay)} AS ms) m,
            LATERAL (SELECT to_timestamp(ms / 1000.0) AS at) t`,
      [day, from, n],
    );
  }
}
await db.query(`ANALYZE event_store`);
const loadSeconds = (performance.now() - l0) / 1000;
const loaded = [uuidV7Floor(days[0]), uuidV7Floor(days[days.length - 1] + DAY_MS)];
const [{ events }] = await db.query(
  `SELECT count(*)::int AS events FROM event_store WHERE id >= $1 AND id < $2`,
  loaded,
);
const [{ bytes }] = await db.query(
  `SELECT sum(pg_total_relation_size(i.inhrelid))::bigint AS bytes
   FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'event_store'::regclass AND c.relname = ANY($1)`,
  [days.map((d) => `event_store_p${new Date(d).toISOString().slice(0, 10).replace(/-/g, '')}`)],
);

// 2. The store's batched write path: the partitioned store against a plain copy, alternating, same process and pool.
await db.query(`CREATE SCHEMA bench_plain`);
await db.query(`CREATE TABLE bench_plain.event_store (LIKE public.event_store INCLUDING ALL)`);
await db.query(
  `CREATE UNIQUE INDEX ON bench_plain.event_store (tenant_id, aggregate_type, aggregate_id, stream_position)`,
);
await db.query(
  `CREATE TRIGGER event_store_append_only BEFORE UPDATE OR DELETE ON bench_plain.event_store
   FOR EACH ROW EXECUTE FUNCTION event_store_append_only()`,
);
const [{ indexes }] = await db.query(
  `SELECT (SELECT count(*) FROM pg_indexes WHERE schemaname = 'bench_plain')::int AS indexes`,
);
// The same repository code; on this connection `event_store` is the plain table (search_path).
const plainDb = new DataSource({
  type: 'postgres',
  url: databaseUrl,
  extra: { max: 20, options: '-c search_path=bench_plain,public' },
});
await plainDb.initialize();
const config = { EVENT_RETENTION_DAYS: 3650 };
const stores = {
  partitioned: new EventStoreRepository(db, new EventPartitions(db, config), config),
  plain: new EventStoreRepository(plainDb, new EventPartitions(plainDb, config), config),
};
let seq = 0;
const envelopes = (n) =>
  Array.from({ length: n }, () => {
    const i = ++seq;
    const id = uuidv7();
    const at = new Date().toISOString();
    return {
      id,
      name: 'carrier.tracking_updated',
      version: 1,
      occurredAt: at,
      recordedAt: at,
      source: 'api',
      actor: { type: 'integration', id: 'erp' },
      tenantId: `tenant-${i % 5}`,
      warehouseId: `WH${(i % 4) + 1}`,
      correlationId: id,
      causationId: null,
      aggregateType: 'order',
      aggregateId: `WH${(i % 4) + 1}/SO-W${i}`,
      streamPosition: 1,
      payload: {
        warehouseId: `WH${(i % 4) + 1}`,
        orderNumber: `SO-W${i}`,
        carrierCode: 'DHL',
        trackingNumber: `JD${String(i).padStart(12, '0')}`,
        status: 'in_transit',
        detail: `L${i}`,
      },
    };
  });
async function writeRound(store, n) {
  const batch = envelopes(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: JOBS }, async () => {
      while (next < batch.length) await store.appendOnce(batch[next++]);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}
log('write rounds', { events: WRITE_EVENTS, pairs: WRITE_ROUNDS });
await writeRound(stores.partitioned, 5000); // warm-up, not measured
await writeRound(stores.plain, 5000);
const rates = { partitioned: [], plain: [] };
const ratios = [];
for (let r = 0; r < WRITE_ROUNDS; r++) {
  // A pair of back-to-back rounds sees the same machine (its speed drifts by tens of %, and other work runs on it);
  // which table goes first alternates.
  const order = r % 2 ? ['plain', 'partitioned'] : ['partitioned', 'plain'];
  for (const table of order) rates[table].push(await writeRound(stores[table], WRITE_EVENTS));
  ratios.push(rates.partitioned[r] / rates.plain[r]);
}

// 3. Archive and drop what is past a 7-day retention, by hand as an operator would (the worker's job does the same).
log('archiving', { retentionDays: RETENTION_DAYS, archiveDir });
const a0 = performance.now();
const archived = spawnSync(
  process.execPath,
  [path.join(root, 'dist/apps/worker/src/cli/wms.js'), '--json', 'events:archive'],
  { env: { ...env, EVENT_RETENTION_DAYS: String(RETENTION_DAYS), LOG_LEVEL: 'error' }, encoding: 'utf8' },
);
const archiveWall = (performance.now() - a0) / 1000;
if (archived.status !== 0) throw new Error(`events:archive failed: ${archived.stderr}`);
const run = JSON.parse(archived.stdout);
const sum = (k) => run.partitions.reduce((n, p) => n + (p[k] ?? 0), 0);
const archivedEvents = sum('events');
const [{ left }] = await db.query(`SELECT count(*)::int AS left FROM event_store WHERE id >= $1 AND id < $2`, loaded);

const results = {
  'events loaded (backdated)': Number(events),
  partitions: DAYS,
  'load events/s (bulk SQL)': Math.round(Number(events) / loadSeconds),
  'bytes on disk per event (table + indexes + TOAST)': Math.round(Number(bytes) / Number(events)),
  'archive: events': archivedEvents,
  'archive: bytes per event (gzip NDJSON)': Math.round(sum('bytes') / archivedEvents),
  'archive events/s (written + verified)': Math.round(archivedEvents / ((sum('writeMs') + sum('verifyMs')) / 1000)),
  '  of which written events/s': Math.round(archivedEvents / (sum('writeMs') / 1000)),
  '  of which verified events/s': Math.round(archivedEvents / (sum('verifyMs') / 1000)),
  'prune events/s (detach + drop of archived partitions)': Math.round(archivedEvents / (sum('dropMs') / 1000)),
  'archive run, wall s (CLI, incl. boot)': +archiveWall.toFixed(1),
  'events left past the retention': left,
  [`store write events/s, partitioned (median of ${WRITE_ROUNDS} rounds)`]: Math.round(median(rates.partitioned)),
  [`store write events/s, plain table (median of ${WRITE_ROUNDS} rounds)`]: Math.round(median(rates.plain)),
  'ratio partitioned / plain, median of the pairs (target ≥ 0.95)': +median(ratios).toFixed(3),
  'ratio of the pairs, lowest–highest': `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
  'plain copy indexes': indexes,
};
console.log('\nWMS history benchmark');
console.table(results);

await plainDb.destroy();
await db.destroy();
await system.stop();
rmSync(archiveDir, { recursive: true, force: true });
process.exit(0);
