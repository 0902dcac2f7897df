// `npm run bench:history`: what history costs. Not a test: it prints figures and exits 0. On a fresh database, with
// its own api and worker running:
// 1. Reads (the main section). Loads BENCH_EVENTS events through the store's own bulk write path
//    (EventStoreRepository.appendMany: event_store, event_keys, event_feed and the rollup deltas in one statement),
//    batches of 1,000, 4 at a time, with a warehouse's mix: 20,000 SKUs whose hot 1 % takes 30 % of the traffic,
//    100,000 order numbers, WH1–WH4, 30 event types of the catalog with payloads filled along their declared keys,
//    spread over the last BENCH_DAYS days (ids minted at those times). Compacts the rollups, VACUUM ANALYZE, then
//    measures over HTTP (an admin's token) key search by SKU and by order, one stream's history, dashboard stats for
//    60 minutes and 24 hours, a /metrics scrape and a catch-up page — p50/p95 latency, and the shared buffers of
//    `EXPLAIN (ANALYZE, BUFFERS)` of the statements behind a sample of each (the repositories' own SQL, captured).
//    Then loads on to 5× the events over the same days (5× the density) and measures again.
// 2. Archive, prune and write ratio (BENCH_HISTORY_ARCHIVE=0 skips it): bytes on disk per event of backdated
//    bulk-SQL history, the archive and prune rates (`npm run wms -- events:archive`), and the store's batched write
//    rate (appendOnce, as the worker calls it) into the partitioned store against a plain single-table copy.
// The last line is one JSON object with the read figures at 5× (README: History benchmark).
//   BENCH_EVENTS (500000) events at the first size   BENCH_DAYS (4) days they spread over, both sizes
//   BENCH_REQUESTS (200) requests per kind and size   BENCH_EXPLAINED (50) of them EXPLAINed
//   BENCH_HISTORY_EVENTS (300000) backdated events of section 2   BENCH_HISTORY_DAYS (5) their partitions
//   BENCH_WRITE_EVENTS (3000) events per write round              BENCH_WRITE_ROUNDS (40) pairs of rounds
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { build, log, root, startBenchSystem } from './services.mjs';

const READ_EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const READ_DAYS = Number(process.env.BENCH_DAYS ?? 4);
const GROWTH = 5;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const EXPLAINED = Math.min(REQUESTS, Number(process.env.BENCH_EXPLAINED ?? 50));
const ARCHIVE = process.env.BENCH_HISTORY_ARCHIVE !== '0';
const EVENTS = Number(process.env.BENCH_HISTORY_EVENTS ?? 300_000);
const DAYS = Number(process.env.BENCH_HISTORY_DAYS ?? 5);
const WRITE_EVENTS = Number(process.env.BENCH_WRITE_EVENTS ?? 3_000);
const WRITE_ROUNDS = Number(process.env.BENCH_WRITE_ROUNDS ?? 40);
/** The worker's concurrency: this many jobs store their event at once, grouped into statements by the repository. */
const JOBS = 100;
const RETENTION_DAYS = 7;
const DAY_MS = 86_400_000;
/** Events per appendMany statement, and how many statements are in flight at once (the worker runs several). */
const BATCH = 1_000;
const PARALLEL = 4;
const TENANT = 'demo';
const OPS = 'ops';
const PASSWORD = process.env.DEMO_PASSWORD ?? 'demo-password-1234';
const WAREHOUSES = ['WH1', 'WH2', 'WH3', 'WH4'];
const SKUS = 20_000;
const HOT_SKUS = SKUS / 100;
const HOT_SHARE = 0.3;
const ORDERS = 100_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rand = (n) => Math.floor(Math.random() * n);
const pickOf = (xs) => xs[rand(xs.length)];

build();
// After the build: the compiled libraries.
await import('reflect-metadata');
const { DataSource } = await import('typeorm');
const { v7: uuidv7 } = await import('uuid');
const {
  dayStart,
  DeadLetterRepository,
  ensureEventPartitions,
  EventCatalog,
  EventPartitions,
  EventsConfig,
  EventStoreRepository,
  MonitoringService,
  OutboxRepository,
  RollupsRepository,
  uuidV7Floor,
} = await import('@wms/events');
await import('@wms/wms-domain');
const { seedTenantUsers } = await import(path.join(root, 'dist/apps/api/src/auth/demo-seed.js'));

const archiveDir = mkdtempSync(path.join(os.tmpdir(), 'wms-bench-archive-'));
const system = await startBenchSystem({
  name: 'bench_history',
  env: {
    ARCHIVE_DIR: archiveDir,
    // The running worker's hourly archive keeps its hands off the loaded days; the archive below is run by hand.
    EVENT_RETENTION_DAYS: '3650',
    // /metrics is scraped with an admin of the operating tenant; the events are another tenant's.
    OPS_TENANT: OPS,
    RATE_LIMIT_PER_MINUTE: '10000000',
  },
});
const { base, children, databaseUrl, env } = system;
// Stopped half-way (an error), the script does not leave them running.
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM')));

const db = new DataSource({ type: 'postgres', url: databaseUrl, extra: { max: 20 } });
await db.initialize();
const config = Object.assign(new EventsConfig(), { EVENT_RETENTION_DAYS: 3650, OPS_TENANT: OPS });

// ---------------------------------------------------------------------------------------------------------------
// 1. Reads: key search, stream history, dashboard stats, /metrics and catch-up at N and 5×N events.

// The tenant with WH1–WH4 and a user per role, and the operating tenant (its admin scrapes /metrics).
await seedTenantUsers(databaseUrl, TENANT, PASSWORD, WAREHOUSES);
await seedTenantUsers(databaseUrl, OPS, PASSWORD, []);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function request(method, url, token, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${url}`,
      {
        method,
        agent,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode >= 400) reject(new Error(`${method} ${url}: ${res.statusCode} ${text.slice(0, 300)}`));
          else resolve(text);
        });
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}
const login = async (email) =>
  JSON.parse(await request('POST', '/auth/login', null, { email, password: PASSWORD })).accessToken;
/** An admin's access token of the tenant and of the operating tenant, signed in again before they expire. */
let session = { at: 0 };
async function tokens() {
  if (Date.now() - session.at > 300_000)
    session = { at: Date.now(), admin: await login(`admin@${TENANT}.local`), ops: await login(`admin@${OPS}.local`) };
  return session;
}

// The mix. Business keys are filled along each event type's declared key paths from these pools.
const pad = (n, w) => String(n).padStart(w, '0');
const skuCodes = Array.from({ length: SKUS }, (_, i) => `SKU-${pad(i + 1, 5)}`);
const hotSkus = skuCodes.slice(0, HOT_SKUS);
const coldSkus = skuCodes.slice(HOT_SKUS);
const orderNumbers = Array.from({ length: ORDERS }, (_, i) => `SO-${pad(i + 1, 6)}`);
const locations = Array.from(
  { length: 2_000 },
  (_, i) => `${'ABCDEFGHIJ'[i % 10]}-${pad(Math.floor(i / 10) % 50, 2)}-${pad(Math.floor(i / 500), 2)}`,
);
const lots = Array.from({ length: 3_000 }, (_, i) => `LOT-${pad(i + 1, 4)}`);
const asns = Array.from({ length: 10_000 }, (_, i) => `ASN-${pad(i + 1, 5)}`);
const pickSku = () => (Math.random() < HOT_SHARE ? pickOf(hotSkus) : pickOf(coldSkus));
const valueOf = {
  sku: pickSku,
  orderNumber: () => pickOf(orderNumbers),
  locationCode: () => pickOf(locations),
  fromLocation: () => pickOf(locations),
  toLocation: () => pickOf(locations),
  lot: () => pickOf(lots),
  asnNumber: () => pickOf(asns),
  trackingNumber: () => `JD${pad(rand(1e10), 10)}`,
  cartonId: () => `CTN-${pad(rand(1e8), 8)}`,
};
function fill(target, keyPath) {
  const [head, ...rest] = keyPath;
  if (head.endsWith('[]')) {
    const field = head.slice(0, -2);
    target[field] ??= Array.from({ length: 1 + rand(3) }, () => ({ quantity: 1 + rand(20) }));
    for (const item of target[field]) fill(item, rest);
  } else if (rest.length) fill((target[head] ??= {}), rest);
  else target[head] = (valueOf[head] ?? (() => `${head}-${rand(1000)}`))();
}
// 30 event types that carry business keys (the master-data ones that happen once per thing are left out); the
// warehouse floor's work (picks, moves, putaway, receipts) is most of the traffic.
const RARE = new Set(['location.created', 'product.created', 'product.discontinued']);
const HEAVY = /^(pick\.|inventory\.(moved|reserved|released|adjusted)|putaway\.|goods\.received|order\.)/;
const types = EventCatalog.definitions()
  .filter((d) => d.keys?.length && !RARE.has(d.name))
  .map((d) => ({ d, weight: HEAVY.test(d.name) ? 4 : 1 }));
const totalWeight = types.reduce((n, t) => n + t.weight, 0);
const pickType = () => {
  let r = Math.random() * totalWeight;
  for (const t of types) if ((r -= t.weight) < 0) return t.d;
  return types[types.length - 1].d;
};
const loadedSkus = new Set();
const loadedOrders = new Set();
/** `${aggregateType}\u0000${aggregateId}` → last stream position (positions are unique per stream). */
const streams = new Map();
function envelope(now) {
  const d = pickType();
  const warehouseId = pickOf(WAREHOUSES);
  const payload = { warehouseId };
  for (const key of d.keys) fill(payload, key.split('.'));
  (function collect(v) {
    if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'sku') loadedSkus.add(x);
        else if (k === 'orderNumber') loadedOrders.add(x);
        else collect(x);
      }
  })(payload);
  const msecs = now - Math.floor(Math.random() * READ_DAYS * DAY_MS);
  const at = new Date(msecs).toISOString();
  const id = uuidv7({ msecs });
  const aggregateId = d.aggregateId(payload);
  const stream = `${d.aggregateType}\u0000${aggregateId}`;
  const streamPosition = (streams.get(stream) ?? 0) + 1;
  streams.set(stream, streamPosition);
  return {
    id,
    name: d.name,
    version: d.version,
    occurredAt: at,
    recordedAt: at,
    source: 'api',
    actor: { type: 'user', id: 'bench-operator' },
    tenantId: TENANT,
    warehouseId: d.warehouseId?.(payload) ?? warehouseId,
    correlationId: id,
    causationId: null,
    aggregateType: d.aggregateType,
    aggregateId,
    streamPosition,
    payload,
  };
}

const store = new EventStoreRepository(db, new EventPartitions(db, config), config);
const rollups = new RollupsRepository(db);
let loadedEvents = 0;
/** Loads `n` more events; takes `after=now` catch-up cursors along the way (pages after them have data). */
async function load(n) {
  const now = Date.now();
  const days = [];
  for (let d = dayStart(now - READ_DAYS * DAY_MS); d <= dayStart(now) + DAY_MS; d += DAY_MS) days.push(d);
  await db.transaction((m) => ensureEventPartitions(m, days));
  const cursors = [];
  const cursorEvery = Math.max(1, Math.floor(n / BATCH / 100));
  let remaining = n;
  let done = 0;
  let statements = 0;
  const t0 = performance.now();
  let shown = t0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (remaining > 0) {
        const size = Math.min(BATCH, remaining);
        remaining -= size;
        const batch = Array.from({ length: size }, () => envelope(Date.now()));
        const stored = await store.appendMany(batch);
        const failed = stored.find((s) => s !== true);
        if (failed !== undefined) throw new Error(`appendMany did not store an event: ${failed}`);
        done += size;
        if (++statements % cursorEvery === 0)
          cursors.push(
            JSON.parse(await request('GET', '/events/stream?after=now&limit=1', (await tokens()).admin)).cursor,
          );
        if (performance.now() - shown > 5000) {
          shown = performance.now();
          log('loading', {
            events: loadedEvents + done,
            of: loadedEvents + n,
            eventsPerSecond: Math.round(done / ((shown - t0) / 1000)),
          });
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  loadedEvents += n;
  log('loaded', { events: loadedEvents, eventsPerSecond: Math.round(n / seconds) });
  // What the worker's maintenance job does every 5 s; then the statistics autovacuum would gather.
  for (;;) {
    await rollups.compact();
    const [{ left }] = await db.query(
      `SELECT (SELECT count(*) FROM rollup_count_deltas) + (SELECT count(*) FROM rollup_latency_deltas) AS left`,
    );
    if (Number(left) === 0) break;
    await sleep(500); // the worker's compaction holds the lock
  }
  await db.query(`VACUUM (ANALYZE)`);
  return { eventsPerSecond: Math.round(n / seconds), cursors };
}

// The repositories the controllers call, over a DataSource whose query() also records the SQL: the statements
// behind a request, EXPLAINed afterwards with the same parameters.
const captured = [];
const spyDb = new Proxy(db, {
  get(target, prop) {
    if (prop === 'query')
      return (sql, params) => {
        captured.push({ sql, params });
        return target.query(sql, params);
      };
    const v = Reflect.get(target, prop);
    return typeof v === 'function' ? v.bind(target) : v;
  },
});
const spyStore = new EventStoreRepository(spyDb, new EventPartitions(spyDb, config), config);
const noQueue = {
  getJobCounts: async () => ({ waiting: 0, active: 0, delayed: 0, failed: 0 }),
  getJobs: async () => [],
};
const spyMonitoring = new MonitoringService(
  { get: () => noQueue },
  config,
  new OutboxRepository(spyDb),
  new DeadLetterRepository(spyDb),
  new RollupsRepository(spyDb),
);
/** Rows the plan's table and index scans produced (over all their loops): what the statement had to read. */
const rowsRead = (node) =>
  (/Scan$/.test(node['Node Type']) && !/^(Subquery|CTE|Function|Values|Bitmap Index) Scan$/.test(node['Node Type'])
    ? node['Actual Rows'] * node['Actual Loops']
    : 0) + (node.Plans ?? []).reduce((n, child) => n + rowsRead(child), 0);
/**
 * Shared buffers (hit + read) of the statements `work` runs — a plan node's counts include its children's, CTEs and
 * subplans, so the top node's are the statement's — and the rows they read.
 */
async function buffersOf(work) {
  captured.length = 0;
  await work();
  const statements = captured.splice(0);
  let buffers = 0;
  let rows = 0;
  for (const { sql, params } of statements) {
    const [row] = await db.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
    const plan = (typeof row['QUERY PLAN'] === 'string' ? JSON.parse(row['QUERY PLAN']) : row['QUERY PLAN'])[0].Plan;
    buffers += plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    rows += rowsRead(plan);
  }
  return { buffers, rows, statements };
}
const scope = { tenantId: TENANT, visibleWarehouses: 'all' };
const enc = encodeURIComponent;
/** The request kinds: each draws its argument, and names the request and the repository call behind it. */
function kinds(cursors) {
  const skus = [...loadedSkus];
  const orders = [...loadedOrders];
  const streamKeys = [...streams.keys()];
  return {
    'search by SKU': () => {
      const key = pickOf(skus);
      return { url: `/events?key=${enc(key)}&limit=50`, call: () => spyStore.find({ ...scope, key, limit: 50 }) };
    },
    'search by order': () => {
      const key = pickOf(orders);
      return { url: `/events?key=${enc(key)}&limit=50`, call: () => spyStore.find({ ...scope, key, limit: 50 }) };
    },
    'stream history': () => {
      const [aggregateType, aggregateId] = pickOf(streamKeys).split('\u0000');
      return {
        url: `/events?aggregateType=${enc(aggregateType)}&aggregateId=${enc(aggregateId)}&limit=50`,
        call: () => spyStore.find({ ...scope, aggregateType, aggregateId, limit: 50 }),
      };
    },
    'stats 60 min': () => ({
      url: '/dashboard/stats?minutes=60',
      call: () => spyMonitoring.stats(TENANT, 'all', undefined, 60, { queueWide: false }),
    }),
    'stats 24 h': () => ({
      url: '/dashboard/stats?minutes=1440',
      call: () => spyMonitoring.stats(TENANT, 'all', undefined, 1440, { queueWide: false }),
    }),
    metrics: () => ({ url: '/metrics', ops: true, call: () => spyMonitoring.prometheus() }),
    'catch-up page': () => {
      const after = pickOf(cursors);
      return {
        url: `/events/stream?after=${enc(after)}&limit=100`,
        call: () => spyStore.catchUp({ ...scope, after, limit: 100 }),
      };
    },
  };
}
async function measure(cursors) {
  const figures = {};
  for (const [kind, draw] of Object.entries(kinds(cursors))) {
    const token = await tokens();
    for (let i = 0; i < 10; i++) {
      const r = draw(); // warm-up: the connection, the api's code paths
      await request('GET', r.url, r.ops ? token.ops : token.admin);
    }
    const ms = [];
    const sample = [];
    for (let i = 0; i < REQUESTS; i++) {
      const r = draw();
      const t0 = performance.now();
      await request('GET', r.url, r.ops ? token.ops : token.admin);
      ms.push(performance.now() - t0);
      if (i < EXPLAINED) sample.push(r);
    }
    const explained = [];
    for (const r of sample) explained.push(await buffersOf(r.call));
    figures[kind] = {
      p50: percentile(ms, 50),
      p95: percentile(ms, 95),
      buffers: mean(explained.map((e) => e.buffers)),
      rows: mean(explained.map((e) => e.rows)),
      statements: explained[0].statements.length,
    };
  }
  return figures;
}
async function bytesOnDisk() {
  const [{ bytes, events }] = await db.query(
    `SELECT (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('event_store') WHERE isleaf)
          + (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('event_keys') WHERE isleaf)
          + pg_total_relation_size('event_feed') AS bytes,
            (SELECT count(*) FROM event_store) AS events`,
  );
  return Math.round(Number(bytes) / Number(events));
}

log('loading events through EventStoreRepository.appendMany', {
  events: READ_EVENTS,
  days: READ_DAYS,
  batch: BATCH,
  parallel: PARALLEL,
});
const first = await load(READ_EVENTS);
const sizes = [
  { events: loadedEvents, load: first, figures: await measure(first.cursors), bytes: await bytesOnDisk() },
];
log('loading on to 5× the events, same days', { events: GROWTH * READ_EVENTS, days: READ_DAYS });
const second = await load((GROWTH - 1) * READ_EVENTS);
sizes.push({ events: loadedEvents, load: second, figures: await measure(second.cursors), bytes: await bytesOnDisk() });

const [a, b] = sizes;
const table = {};
for (const kind of Object.keys(a.figures)) {
  const x = a.figures[kind];
  const y = b.figures[kind];
  table[kind] = {
    'p50 ms': `${x.p50.toFixed(1)} → ${y.p50.toFixed(1)}`,
    'p95 ms': `${x.p95.toFixed(1)} → ${y.p95.toFixed(1)}`,
    'p95 ×': +(y.p95 / x.p95).toFixed(2),
    'buffers/req': `${Math.round(x.buffers)} → ${Math.round(y.buffers)}`,
    'buffers ×': +(y.buffers / x.buffers).toFixed(2),
    'rows read/req': `${x.rows.toFixed(1)} → ${y.rows.toFixed(1)}`,
    'buffers/row read ×': +(y.buffers / Math.max(1, y.rows) / (x.buffers / Math.max(1, x.rows))).toFixed(2),
    statements: x.statements,
  };
}
console.log(
  `\nWMS history benchmark — reads at ${a.events.toLocaleString('en')} → ${b.events.toLocaleString('en')} events, ` +
    `both over the same ${READ_DAYS} days (5× the events = 5× the density); ${REQUESTS} requests per kind ` +
    `(after 10 warm-up), buffers = mean shared hit + read of EXPLAIN (ANALYZE, BUFFERS) over ${EXPLAINED} of them, ` +
    `rows = rows their scans read (a key's index entries and events, a window's rollup rows)`,
);
console.table(table);
console.table({
  'load events/s (appendMany, 1,000 per statement, 4 at a time)': {
    [`${a.events}`]: a.load.eventsPerSecond,
    [`${b.events}`]: b.load.eventsPerSecond,
  },
  'bytes on disk per event (event_store + event_keys + event_feed)': {
    [`${a.events}`]: a.bytes,
    [`${b.events}`]: b.bytes,
  },
});
const targets = Object.entries(a.figures).filter(([, f]) => f.p95 > 50);
const worst = (f) => Math.max(...Object.keys(a.figures).map((k) => f(a.figures[k], b.figures[k])));
const summary = {
  events: b.events,
  searchP95Ms: +Math.max(b.figures['search by SKU'].p95, b.figures['search by order'].p95).toFixed(1),
  streamP95Ms: +b.figures['stream history'].p95.toFixed(1),
  stats60P95Ms: +b.figures['stats 60 min'].p95.toFixed(1),
  stats24hP95Ms: +b.figures['stats 24 h'].p95.toFixed(1),
  metricsP95Ms: +b.figures.metrics.p95.toFixed(1),
  catchUpP95Ms: +b.figures['catch-up page'].p95.toFixed(1),
  growthRatio: +worst((x, y) => y.p95 / x.p95).toFixed(2),
  buffersGrowthRatio: +worst((x, y) => y.buffers / x.buffers).toFixed(2),
  bytesPerEvent: b.bytes,
};
console.log(
  `targets: every p95 ≤ 50 ms at ${a.events} events — ${targets.length ? `missed by ${targets.map(([k]) => k).join(', ')}` : 'met'}; ` +
    `at 5× p95 and buffers within 1.5× — p95 worst ${summary.growthRatio}×, buffers worst ${summary.buffersGrowthRatio}×`,
);

// ---------------------------------------------------------------------------------------------------------------
// 2. Archive, prune and the partitioned store's write rate.
async function archiveSection() {
  // 2a. History: EVENTS events over DAYS days past the retention, bulk-inserted (backdated, so not through the api).
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

  // 2b. The store's batched write path: the partitioned store against a plain copy, alternating, same process and pool.
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

  // 2c. Archive and drop what is past a 7-day retention, by hand as an operator would (the worker's job does the same).
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
  console.log('\nWMS history benchmark — archive, prune, partitioned writes');
  console.table(results);
  await plainDb.destroy();
}
if (ARCHIVE) await archiveSection();

console.log(JSON.stringify(summary));
await db.destroy();
agent.destroy();
await system.stop();
rmSync(archiveDir, { recursive: true, force: true });
process.exit(0);
