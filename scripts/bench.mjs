// `npm run bench`: drives the running system the way scanners do and prints what it sustains.
// Not a test: it prints figures and exits 0; compare them with the targets in the README.
//   BENCH_SECONDS (default 20)  sustained-load duration      BENCH_CLIENTS (default 64) concurrent HTTP clients
//   BENCH_RATE (default 500)    events/s for the latency run  BENCH_LATENCY_SECONDS (default 10)
//   BENCH_ADAPTERS (default fastify)  HTTP adapters to compare, e.g. express,fastify: the api is restarted
//   BENCH_ROUNDS (default 1)          for each, alternating A/B/A/B so the machine's drift hits both alike
//   BENCH_WARMUP_SECONDS (default 3)  unmeasured load after each api start (a cold process is slower)
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
const ADAPTERS = (process.env.BENCH_ADAPTERS ?? 'fastify').split(',').map((a) => a.trim());
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
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

const startApp = (app, extraEnv = {}) =>
  spawn(process.execPath, [path.join(root, `dist/apps/${app}/src/main.js`)], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
const stopApp = (child) => {
  child.kill('SIGTERM');
  return child.exitCode !== null ? null : new Promise((r) => child.once('exit', r));
};
const worker = startApp('worker');
const base = `http://127.0.0.1:${port}`;
async function startApi(adapter) {
  const api = startApp('api', { HTTP_ADAPTER: adapter });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return api;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error('the api did not become healthy within 20 s');
    await sleep(100);
  }
}
let api = await startApi(ADAPTERS[0]);

// Credentials: the demo admin signs in and issues an API key, as an integration would get one.
spawnSync(process.execPath, [path.join(root, 'dist/apps/api/src/auth/demo-seed.js')], { env, stdio: 'ignore' });
const session = await (
  await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@demo.local', password: process.env.DEMO_PASSWORD ?? 'demo-password-1234' }),
  })
).json();
const apiKey = (
  await (
    await fetch(`${base}/admin/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
      body: JSON.stringify({ name: 'bench', warehouses: [] }),
    })
  ).json()
).token;

const broadcastAt = new Map();
// One socket.io client, like a supervisor's dashboard, subscribed to every warehouse of the run.
async function subscribe() {
  const socket = io(base, { transports: ['websocket'], auth: { token: session.accessToken } });
  socket.on('event', (e) => broadcastAt.set(e.payload.detail, performance.now()));
  for (const warehouseId of WAREHOUSES) await socket.timeout(5000).emitWithAck('subscribe', { warehouseId });
  return socket;
}

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

let errors = 0;

/** CLIENTS clients publishing integration events (carrier tracking updates) back to back for `seconds`. */
async function load(seconds) {
  const lots = [];
  const stopAt = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < stopAt) {
        try {
          lots.push(await publish());
        } catch {
          errors++;
        }
      }
    }),
  );
  return lots;
}

/** One round on the running api: sustained load, then latency at a fixed rate. */
async function measure(adapter) {
  const socket = await subscribe();
  await waitForBroadcasts(await load(WARMUP_SECONDS), 60_000);
  // 1. Sustained load for SECONDS.
  log('sustained load', { adapter, clients: CLIENTS, seconds: SECONDS });
  const errorsBefore = errors;
  const t0 = performance.now();
  const sustained = await load(SECONDS);
  const acceptedSeconds = (performance.now() - t0) / 1000;
  const broadcastCount = await waitForBroadcasts(sustained, 120_000);
  const lastBroadcast = Math.max(...sustained.map((l) => broadcastAt.get(l) ?? 0));
  const endToEndSeconds = (lastBroadcast - t0) / 1000;

  // 2. Latency at a fixed rate (open loop: one publish every 1/RATE s, whatever the answers do).
  log('latency at a fixed rate', { adapter, rate: RATE, seconds: LATENCY_SECONDS });
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
  socket.disconnect();
  const latencies = latencyLots
    .filter((l) => broadcastAt.has(l))
    .map((l) => broadcastAt.get(l) - sentAt.get(l))
    .sort((a, b) => a - b);
  return {
    adapter,
    accepted: sustained.length,
    errors: errors - errorsBefore,
    'accepted/s': Math.round(sustained.length / acceptedSeconds),
    'end-to-end/s': Math.round(broadcastCount / endToEndSeconds),
    [`p50 ms @${RATE}/s`]: +percentile(latencies, 50).toFixed(1),
    [`p95 ms @${RATE}/s`]: +percentile(latencies, 95).toFixed(1),
    [`p99 ms @${RATE}/s`]: +percentile(latencies, 99).toFixed(1),
  };
}

// Rounds alternate the adapters (A/B/A/B): the machine's speed drifts, and it must drift over both alike.
const rounds = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const adapter of ADAPTERS) {
    if (rounds.length > 0) api = (await stopApp(api), await startApi(adapter));
    rounds.push(await measure(adapter));
  }
}
const storedRows = await (async () => {
  const { default: pgLib } = await import('pg');
  const c = new pgLib.Client({ connectionString: databaseUrl });
  await c.connect();
  const { rows } = await c.query(`SELECT count(*)::int AS n FROM event_store WHERE tenant_id = 'demo'`);
  await c.end();
  return rows[0].n;
})();
const accepted = rounds.reduce((n, r) => n + r.accepted, 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const perAdapter = Object.fromEntries(
  ADAPTERS.map((adapter) => {
    const mine = rounds.filter((r) => r.adapter === adapter);
    return [
      adapter,
      Object.fromEntries(
        Object.keys(mine[0])
          .filter((k) => k.endsWith('/s') || k.startsWith('p'))
          .map((k) => [`${k} (median of ${mine.length})`, median(mine.map((r) => r[k]))]),
      ),
    ];
  }),
);

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

const endToEndPerSecond = median(rounds.map((r) => r['end-to-end/s']));
const results = {
  profile: env.QUEUE_CONNECTION,
  clients: CLIENTS,
  accepted,
  errors,
  'stored rows (all rounds)': storedRows,
  [`raw BullMQ no-op jobs/s, ${CLIENTS} producers add()`]: raw && Math.round(raw),
  'ratio end-to-end (median round) / raw add()': raw && +(endToEndPerSecond / raw).toFixed(2),
  'raw BullMQ no-op jobs/s, addBulk(500)': rawBulk && Math.round(rawBulk),
  'ratio end-to-end (median round) / raw addBulk': rawBulk && +(endToEndPerSecond / rawBulk).toFixed(2),
};
console.log('\nWMS event backbone benchmark: each round (publish→broadcast latency in ms at the fixed rate)');
console.table(rounds);
if (ADAPTERS.length > 1 || ROUNDS > 1) console.table(perAdapter);
console.table(results);

await Promise.all([stopApp(api), stopApp(worker)]);
await privateRedis?.stop();
await dropDatabase(pg.serverUrl, database).catch(() => {});
await pg.stop();
process.exit(0);
