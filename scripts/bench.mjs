// `npm run bench`: drives the running system the way scanners do and prints what it sustains.
// Not a test: it prints figures and exits 0; compare them with the targets in the README.
//   BENCH_SECONDS (default 20)  sustained-load duration      BENCH_CLIENTS (default 64) concurrent HTTP clients
//   BENCH_RATE (default 500)    events/s for the latency run  BENCH_LATENCY_SECONDS (default 10)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { io } from 'socket.io-client';
import {
  build,
  createDatabase,
  dropDatabase,
  findRedis,
  freePort,
  log,
  migrate,
  provisionPostgres,
  redisServerBinary,
  root,
  startRedisServer,
} from './services.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const WAREHOUSES = ['WH1', 'WH2', 'WH3', 'WH4'];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

build();
const pg = await provisionPostgres();
const database = `wms_bench_${Date.now()}`;
const databaseUrl = await createDatabase(pg.serverUrl, database);
migrate(databaseUrl);
let redisUrl = await findRedis();
let privateRedis;
if (!redisUrl && redisServerBinary()) {
  privateRedis = await startRedisServer();
  redisUrl = privateRedis.url;
  log('started a private redis-server for the benchmark', { url: redisUrl });
}
const port = await freePort();
const prefix = `bench${Date.now()}`;
const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  QUEUE_CONNECTION: redisUrl ? 'redis' : 'postgres',
  QUEUE_PREFIX: prefix,
  PORT: String(port),
  LOG_LEVEL: 'warn',
  OPENAPI_ENABLED: 'false',
  AUTH_SECRET: randomBytes(48).toString('base64url'),
  // The bench is one integration publishing as fast as it can.
  RATE_LIMIT_PER_MINUTE: '10000000',
};
if (redisUrl) env.REDIS_URL = redisUrl;
else delete env.REDIS_URL;
// The bench measures one Redis (or Postgres-only), never a cluster the caller's environment names.
delete env.REDIS_CLUSTER_NODES;

const children = ['api', 'worker'].map((app) =>
  spawn(process.execPath, [path.join(root, `dist/apps/${app}/src/main.js`)], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  }),
);
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 200) throw new Error('the api did not become healthy within 20 s');
  await sleep(100);
}

// Credentials: the demo admin signs in and issues an API key, as an integration would get one.
spawnSync(process.execPath, [path.join(root, 'dist/apps/api/src/auth/demo-seed.js')], { env, stdio: 'ignore' });
const session = await (
  await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@demo.local', password: process.env.DEMO_PASSWORD ?? 'demo-password-1234' }),
  })
).json();
// Events of a warehouse the tenant does not have are refused: create the run's (the seed made WH1 already).
for (const code of WAREHOUSES) {
  const res = await fetch(`${base}/warehouses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
    body: JSON.stringify({ code, name: `Bench ${code}` }),
  });
  const body = await res.json();
  if (!res.ok && body.code !== 'WAREHOUSE.EXISTS') throw new Error(`creating ${code} failed: ${JSON.stringify(body)}`);
}
const apiKey = (
  await (
    await fetch(`${base}/admin/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
      body: JSON.stringify({ name: 'bench', warehouses: [] }),
    })
  ).json()
).token;

// One socket.io client, like a supervisor's dashboard, subscribed to every warehouse of the run.
const socket = io(base, { transports: ['websocket'], auth: { token: session.accessToken } });
const broadcastAt = new Map();
socket.on('event', (e) => broadcastAt.set(e.payload.detail, performance.now()));
for (const warehouseId of WAREHOUSES) await socket.timeout(5000).emitWithAck('subscribe', { warehouseId });

// Plain keep-alive http: the load generator shares the machine's 2 cores, so it must stay cheap (fetch costs ~2x).
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(CLIENTS, 64) });
let seq = 0;
const sentAt = new Map();
function publish() {
  const lot = `L${++seq}`;
  const warehouseId = WAREHOUSES[seq % WAREHOUSES.length];
  const body = JSON.stringify({
    name: 'carrier.tracking_updated',
    payload: {
      warehouseId,
      orderNumber: `SO-${seq % 2000}`,
      carrierCode: 'DHL',
      trackingNumber: `JD${seq}`,
      status: 'in_transit',
      detail: lot,
    },
  });
  sentAt.set(lot, performance.now());
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}/events`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${apiKey}`,
          'idempotency-key': `bench-${prefix}-${lot}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 202 ? resolve(lot) : reject(new Error(`publish answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitForBroadcasts(lots, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !lots.every((l) => broadcastAt.has(l))) await sleep(20);
  return lots.filter((l) => broadcastAt.has(l)).length;
}

// 1. Sustained load: CLIENTS clients publishing integration events (carrier tracking updates) back to back for SECONDS.
log('sustained load', { clients: CLIENTS, seconds: SECONDS });
const sustained = [];
const t0 = performance.now();
const stopAt = t0 + SECONDS * 1000;
let errors = 0;
await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < stopAt) {
      try {
        sustained.push(await publish());
      } catch {
        errors++;
      }
    }
  }),
);
const acceptedSeconds = (performance.now() - t0) / 1000;
const broadcastCount = await waitForBroadcasts(sustained, 120_000);
const lastBroadcast = Math.max(...sustained.map((l) => broadcastAt.get(l) ?? 0));
const endToEndSeconds = (lastBroadcast - t0) / 1000;
const storedRows = await (async () => {
  const { default: pgLib } = await import('pg');
  const c = new pgLib.Client({ connectionString: databaseUrl });
  await c.connect();
  const { rows } = await c.query(`SELECT count(*)::int AS n FROM event_store WHERE tenant_id = 'demo'`);
  await c.end();
  return rows[0].n;
})();

// 2. Latency at a fixed rate (open loop: one publish every 1/RATE s, whatever the answers do).
log('latency at a fixed rate', { rate: RATE, seconds: LATENCY_SECONDS });
await sleep(1000);
const latencyLots = [];
const inflight = [];
const l0 = performance.now();
for (let i = 0; i < RATE * LATENCY_SECONDS; i++) {
  const due = l0 + (i * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 1) await sleep(wait);
  inflight.push(
    publish().then(
      (lot) => latencyLots.push(lot),
      () => errors++,
    ),
  );
}
await Promise.all(inflight);
await waitForBroadcasts(latencyLots, 60_000);
const latencies = latencyLots
  .filter((l) => broadcastAt.has(l))
  .map((l) => broadcastAt.get(l) - sentAt.get(l))
  .sort((a, b) => a - b);

// 3. Reference: raw BullMQ on the same backend, a no-op job, a worker with our worker's concurrency.
//    a) added one at a time by CLIENTS concurrent producers (the shape of scanner traffic);
//    b) added 500 at a time with addBulk (BullMQ's ceiling on this machine).
async function rawBullmq(n, addOne) {
  const u = new URL(redisUrl);
  const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  const name = `bench-noop-${addOne ? 'single' : 'bulk'}`;
  const queue = new Queue(name, { connection, prefix });
  let done = 0;
  let worker;
  const finished = new Promise((resolve) => {
    worker = new Worker(name, async () => {}, { connection, prefix, concurrency: 100 });
    worker.on('completed', () => ++done === n && resolve());
  });
  const r0 = performance.now();
  if (addOne) {
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < n) await queue.add('noop', { i: next++ }, { removeOnComplete: true });
      }),
    );
  } else {
    for (let i = 0; i < n; i += 500)
      await queue.addBulk(
        Array.from({ length: 500 }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })),
      );
  }
  await finished;
  const perSecond = n / ((performance.now() - r0) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return perSecond;
}
let raw = null;
let rawBulk = null;
if (redisUrl) {
  log('raw BullMQ reference');
  raw = await rawBullmq(20_000, true);
  rawBulk = await rawBullmq(20_000, false);
}

const acceptedPerSecond = sustained.length / acceptedSeconds;
const endToEndPerSecond = broadcastCount / endToEndSeconds;
const results = {
  profile: env.QUEUE_CONNECTION,
  clients: CLIENTS,
  accepted: sustained.length,
  errors,
  'accepted events/s': Math.round(acceptedPerSecond),
  'stored rows': storedRows,
  'end-to-end stored+broadcast events/s': Math.round(endToEndPerSecond),
  [`latency publish→broadcast at ${RATE}/s p50 ms`]: +percentile(latencies, 50).toFixed(1),
  [`latency publish→broadcast at ${RATE}/s p95 ms`]: +percentile(latencies, 95).toFixed(1),
  [`latency publish→broadcast at ${RATE}/s p99 ms`]: +percentile(latencies, 99).toFixed(1),
  [`raw BullMQ no-op jobs/s, ${CLIENTS} producers add()`]: raw && Math.round(raw),
  'ratio end-to-end / raw add()': raw && +(endToEndPerSecond / raw).toFixed(2),
  'raw BullMQ no-op jobs/s, addBulk(500)': rawBulk && Math.round(rawBulk),
  'ratio end-to-end / raw addBulk': rawBulk && +(endToEndPerSecond / rawBulk).toFixed(2),
};
console.log('\nWMS event backbone benchmark');
console.table(results);

socket.disconnect();
for (const c of children) c.kill('SIGTERM');
await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
await privateRedis?.stop();
await dropDatabase(pg.serverUrl, database).catch(() => {});
await pg.stop();
process.exit(0);
