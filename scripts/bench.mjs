// `npm run bench`: the product's hot paths against references, side by side in one run (issue 15).
// One process tree on a fresh database: the product's api + worker, the lean reference pipeline's api + worker
// (scripts/bench-lean.mjs), Postgres, Redis, and this load generator. Rounds alternate A/B/A/B so the machine's drift
// (2× on the shared 2-core box) falls on both sides; every ratio is taken between figures of the same round.
//   A  the lean reference: sustained with 64 clients, then p99 publish→socket receipt at a fixed 1,000/s
//   B  our POST /events sustained (64 clients), then at a fixed 1,000/s (p99 publish→dashboard socket receipt);
//      POST /events/batch, 8 clients × 100 events; inventory adjustments from 64 scanners across 500 SKUs and the SQL
//      reference (the least a correct adjustment writes, in one transaction, via node-postgres); scans at 300/s (p99)
// Not a test: prints a table and, as its last line, one JSON object with the headline figures; exits 0.
//   BENCH_SECONDS (default 15)          each closed-loop phase     BENCH_LATENCY_SECONDS (default min(10, BENCH_SECONDS))
//   BENCH_ROUNDS (default 2)            A/B pairs                  BENCH_NODE_ARGS   extra node flags for api + worker
//                                                                                   (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
//   BENCH_LATENCY_DUMP  a path: each fixed-rate phase writes <path>.ours / <path>.lean, one line per event
//                       (ms since the phase began, latency ms, ms to the 202), to see when the slow ones were sent
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { io } from 'socket.io-client';
import { build, freePort, killedOnExit, log, root, startBenchSystem } from './services.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? Math.min(10, SECONDS));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** For profiling one path: a comma list of lean, publish, batch, scan (default all). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'lean,publish,batch,scan').split(','));
const WARMUP_SECONDS = Math.min(3, SECONDS);
const CLIENTS = 64;
const PUBLISH_RATE = 1000;
const BATCH_CLIENTS = 8;
const BATCH_SIZE = 100;
const SCANNERS = 64;
const SKUS = 500;
const LOCATIONS = 50;
const SCAN_RATE = 300;
/** The product's Postgres pool (libs/events/src/events.module.ts, `extra: { max: 20 }`): the SQL reference gets the same. */
const PRODUCT_POOL = 20;
const WAREHOUSES = ['WH1', 'WH2', 'WH3', 'WH4'];
const SCAN_WH = 'WH1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const sku = (i) => `BENCH-P${String(i).padStart(3, '0')}`;
const locationOf = (i) => `B-${String(i % LOCATIONS).padStart(2, '0')}`;

build();
const system = await startBenchSystem({
  name: 'bench',
  // The bench is one integration publishing as fast as it can.
  env: { RATE_LIMIT_PER_MINUTE: '100000000' },
});
const { base, env, databaseUrl, redisUrl, prefix } = system;
if (!redisUrl) throw new Error('npm run bench needs Redis (REDIS_URL or redis-server on PATH) for the lean reference');

// The lean reference pipeline, its own two processes like ours.
const leanPort = await freePort();
const leanEnv = { ...process.env, LEAN_PORT: String(leanPort), REDIS_URL: redisUrl, DATABASE_URL: databaseUrl };
leanEnv.LEAN_PREFIX = `lean${prefix}`;
const lean = killedOnExit(
  ['api', 'worker'].map((role) =>
    spawn(process.execPath, [path.join(root, 'scripts/bench-lean.mjs'), role], {
      env: leanEnv,
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  ),
);
const leanBase = `http://127.0.0.1:${leanPort}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${leanBase}/events`, { method: 'POST' })).status === 400) break;
  } catch {
    // not listening yet
  }
  if (i > 200) throw new Error('the lean reference api did not answer within 20 s');
  await sleep(100);
}

// Plain keep-alive http: the load generator shares the machine's 2 cores, so it must stay cheap (fetch costs ~2x).
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
/** POSTs JSON; resolves { status, body } (body parsed only when `parse`). */
function post(url, body, headers = {}, parse = false) {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers },
      },
      (res) => {
        const chunks = [];
        if (parse) res.on('data', (c) => chunks.push(c));
        else res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            body: parse ? JSON.parse(Buffer.concat(chunks).toString() || 'null') : null,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
const must = async (url, body, headers, okCodes = []) => {
  const res = await post(url, body, headers, true);
  if (res.status >= 300 && !okCodes.includes(res.body?.code))
    throw new Error(`POST ${url} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
};

// ── the product's data: an integration's API key, warehouses, 500 SKUs with stock across 50 locations ──────────
log('seeding', { skus: SKUS, locations: LOCATIONS });
spawnSync(process.execPath, [path.join(root, 'dist/apps/api/src/auth/demo-seed.js')], { env, stdio: 'ignore' });
const session = await must(`${base}/auth/login`, {
  email: 'admin@demo.local',
  password: process.env.DEMO_PASSWORD ?? 'demo-password-1234',
});
const asAdmin = { authorization: `Bearer ${session.accessToken}` };
for (const code of WAREHOUSES)
  await must(`${base}/warehouses`, { code, name: `Bench ${code}` }, asAdmin, ['WAREHOUSE.EXISTS']);
const apiKey = (await must(`${base}/admin/api-keys`, { name: 'bench', warehouses: [] }, asAdmin)).token;
await must(`${base}/warehouses/${SCAN_WH}/zones`, { code: 'B', name: 'Bench racking' }, asAdmin, ['ZONE.EXISTS']);
for (let i = 0; i < LOCATIONS; i++)
  await must(`${base}/warehouses/${SCAN_WH}/locations`, { code: locationOf(i), zoneCode: 'B' }, asAdmin, [
    'LOCATION.EXISTS',
  ]);
const gtin = (n) => {
  const body = String(700000000000 + n).padStart(12, '0');
  const sum = [...body].reverse().reduce((a, d, i) => a + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return body + ((10 - (sum % 10)) % 10);
};
await Promise.all(
  Array.from({ length: 8 }, async (_, w) => {
    for (let i = w; i < SKUS; i += 8) {
      await must(`${base}/products`, { sku: sku(i), gtin: gtin(i), name: `Bench ${i}`, unitOfMeasure: 'EA' }, asAdmin, [
        'PRODUCT.EXISTS',
      ]);
      await must(
        `${base}/warehouses/${SCAN_WH}/adjustments`,
        { barcode: sku(i), locationCode: locationOf(i), quantityDelta: 900_000, reasonCode: 'found' },
        { ...asAdmin, 'idempotency-key': `seed-${i}` },
      );
    }
  }),
);

// The SQL reference writes to copies of the product's tables (same columns, keys, indexes, generated columns), so the
// product's worker and outbox relay never see its rows; its stock starts as the product's.
const ref = new pg.Pool({ connectionString: databaseUrl, max: PRODUCT_POOL, idleTimeoutMillis: 0 });
// Opened now and kept, as the product's pool is warm by the time it is measured. Postgres' connection slots are shared
// with whatever else runs on the machine: a slot refused now is opened later, when the phase asks for it.
if (ONLY.has('scan'))
  await Promise.allSettled(Array.from({ length: PRODUCT_POOL }, () => ref.connect())).then((cs) =>
    cs.forEach((c) => c.status === 'fulfilled' && c.value.release()),
  );
await ref.query(`CREATE SCHEMA bench_ref`);
for (const t of ['idempotency_keys', 'stock', 'event_streams', 'event_outbox'])
  await ref.query(`CREATE TABLE bench_ref.${t} (LIKE public.${t} INCLUDING ALL)`);
await ref.query(`INSERT INTO bench_ref.stock SELECT * FROM public.stock`);

// ── sockets: a supervisor's dashboard on ours (every warehouse of the run), a client of room `lean` on the lean one ─
const receivedAt = new Map();
const dashboard = io(base, { transports: ['websocket'], auth: { token: session.accessToken } });
dashboard.on('events', (batch) => {
  const now = performance.now();
  for (const e of batch) receivedAt.set(e.payload.detail, now);
});
for (const warehouseId of WAREHOUSES) await dashboard.timeout(5000).emitWithAck('subscribe', { warehouseId });
const leanSocket = io(leanBase, { transports: ['websocket'] });
leanSocket.on('batch', (items) => {
  const t = performance.now();
  for (const e of items) receivedAt.set(e.payload.detail, t);
});
await new Promise((resolve) => leanSocket.once('connect', resolve));

// ── the load ─────────────────────────────────────────────────────────────────────────────────────────────────────
let seq = 0;
const sentAt = new Map();
/** When the publish was answered (for BENCH_LATENCY_DUMP). */
const answeredAt = new Map();
const trackingPayload = (lot, n) => ({
  warehouseId: WAREHOUSES[n % WAREHOUSES.length],
  orderNumber: `SO-${n % 2000}`,
  carrierCode: 'DHL',
  trackingNumber: `JD${n}`,
  status: 'in_transit',
  detail: lot,
});
/** One publish to ours (`ours`) or the lean pipeline; resolves the lot (its `detail`) once answered 202. */
async function publish(ours) {
  const n = ++seq;
  const lot = `L${n}`;
  sentAt.set(lot, performance.now());
  const res = await post(
    ours ? `${base}/events` : `${leanBase}/events`,
    { name: 'carrier.tracking_updated', payload: trackingPayload(lot, n) },
    ours ? { authorization: `Bearer ${apiKey}`, 'idempotency-key': `bench-${lot}` } : {},
  );
  if (res.status !== 202) throw new Error(`publish answered ${res.status}`);
  answeredAt.set(lot, performance.now());
  return lot;
}
/** A batch of BATCH_SIZE to POST /events/batch; resolves the accepted lots; 'missing' when the route answers 404. */
async function publishBatch() {
  const lots = [];
  const items = Array.from({ length: BATCH_SIZE }, () => {
    const n = ++seq;
    const lot = `L${n}`;
    lots.push(lot);
    sentAt.set(lot, performance.now());
    return { name: 'carrier.tracking_updated', payload: trackingPayload(lot, n), idempotencyKey: `bench-${lot}` };
  });
  const res = await post(`${base}/events/batch`, { items }, { authorization: `Bearer ${apiKey}` }, true);
  if (res.status === 404) return 'missing';
  if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
  return lots.filter((_, i) => res.body.results[i]?.status === 'accepted');
}
let scanSeq = 0;
/** One inventory adjustment from a scanner (-1, damaged) on a random SKU of the 500. */
async function scan() {
  const i = Math.floor(Math.random() * SKUS);
  const res = await post(
    `${base}/warehouses/${SCAN_WH}/adjustments`,
    { barcode: sku(i), locationCode: locationOf(i), quantityDelta: -1, reasonCode: 'damaged' },
    { ...asAdmin, 'idempotency-key': `scan-${++scanSeq}` },
  );
  if (res.status >= 300) throw new Error(`adjustment answered ${res.status}`);
}
/** The least a correct adjustment writes, in one transaction: key claim, conditional stock update, position, outbox. */
async function sqlReference() {
  const i = Math.floor(Math.random() * SKUS);
  const key = `ref-${++scanSeq}`;
  const stream = `${SCAN_WH}/${sku(i)}/${locationOf(i)}`;
  const c = await ref.connect();
  try {
    await c.query('BEGIN');
    const claimed = await c.query(
      `INSERT INTO bench_ref.idempotency_keys (tenant_id, scope, key, request_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING key`,
      ['demo', 'user:bench', key, 'h'.repeat(64)],
    );
    if (!claimed.rowCount) throw new Error('key taken');
    const changed = await c.query(
      `UPDATE bench_ref.stock SET on_hand = on_hand - 1
       WHERE tenant_id = $1 AND warehouse_code = $2 AND sku = $3 AND location_code = $4 AND lot = ''
         AND on_hand - reserved - held >= 1
       RETURNING on_hand`,
      ['demo', SCAN_WH, sku(i), locationOf(i)],
    );
    if (!changed.rowCount) throw new Error('insufficient stock');
    const {
      rows: [{ position }],
    } = await c.query(
      `INSERT INTO bench_ref.event_streams (tenant_id, aggregate_type, aggregate_id, position) VALUES ($1, 'stock', $2, 1)
       ON CONFLICT (tenant_id, aggregate_type, aggregate_id) DO UPDATE SET position = event_streams.position + 1
       RETURNING position`,
      ['demo', stream],
    );
    const id = randomUUID();
    const at = new Date().toISOString();
    const envelope = {
      id,
      name: 'inventory.adjusted',
      version: 1,
      occurredAt: at,
      recordedAt: at,
      source: 'api',
      actor: { type: 'user', id: 'bench' },
      tenantId: 'demo',
      warehouseId: SCAN_WH,
      correlationId: randomUUID(),
      causationId: null,
      aggregateType: 'stock',
      aggregateId: stream,
      streamPosition: Number(position),
      payload: {
        warehouseId: SCAN_WH,
        sku: sku(i),
        locationCode: locationOf(i),
        lot: '',
        quantityDelta: -1,
        reasonCode: 'damaged',
      },
    };
    await c.query(`INSERT INTO bench_ref.event_outbox (id, envelope) VALUES ($1, $2)`, [id, envelope]);
    await c.query('COMMIT');
  } catch (error) {
    await c.query('ROLLBACK');
    throw error;
  } finally {
    c.release();
  }
}

/** `clients` loops calling `fn` back to back for `seconds`; what they got done and in how long. */
async function closedLoop(clients, seconds, fn) {
  const done = [];
  let errors = 0;
  let lastError;
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < stopAt) {
        try {
          const r = await fn();
          if (Array.isArray(r)) done.push(...r);
          else done.push(r);
        } catch (error) {
          errors++;
          lastError = error;
        }
      }
    }),
  );
  if (errors) log('errors in the phase', { errors, last: String(lastError) });
  return { done, errors, t0, seconds: (performance.now() - t0) / 1000 };
}
/** Open loop: one `fn` every 1/rate s for `seconds`, whatever the answers do; each call's result and latency. */
async function openLoop(rate, seconds, fn) {
  const calls = [];
  let errors = 0;
  const t0 = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    const s = performance.now();
    calls.push(
      fn().then(
        (r) => ({ r, ms: performance.now() - s }),
        () => (errors++, null),
      ),
    );
  }
  const results = (await Promise.all(calls)).filter(Boolean);
  return { results, errors };
}
async function waitForReceipts(lots, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !lots.every((l) => receivedAt.has(l))) await sleep(20);
  return lots.filter((l) => receivedAt.has(l));
}
const forget = () => {
  receivedAt.clear();
  sentAt.clear();
  answeredAt.clear();
};

/** CPU time (user + system, ms) a process has used so far (Linux /proc; null elsewhere). */
const cpuMs = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
};
/** CPU ms used so far by the Postgres backends serving this run's database, by pid. */
const backendsCpu = async () => {
  const { rows } = await ref.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  return new Map(rows.map((r) => [r.pid, cpuMs(r.pid) ?? 0]));
};
const sinceMs = (before, after) => [...after].reduce((n, [pid, ms]) => n + ms - (before.get(pid) ?? 0), 0);
/**
 * Starts counting the CPU of an [api, worker] pair and of this run's Postgres backends; the function it resolves
 * gives each one's CPU ms per unit of work done since (api and worker null where /proc cannot be read).
 */
async function cpuMeter([api, worker]) {
  const c0 = [cpuMs(api.pid), cpuMs(worker.pid)];
  const pg0 = await backendsCpu();
  return async (units) => {
    const per = (pid, c) => (c === null ? null : (cpuMs(pid) - c) / units);
    return {
      api: per(api.pid, c0[0]),
      worker: per(worker.pid, c0[1]),
      postgres: sinceMs(pg0, await backendsCpu()) / units,
    };
  };
}
/** When the last of `lots` was received on its socket. */
const lastReceipt = (lots) => lots.reduce((m, l) => Math.max(m, receivedAt.get(l)), 0);
/** Sustained publishing: accepted/s, end to end (stored + received on the socket) per second, CPU ms per event. */
async function sustained(ours, seconds = SECONDS) {
  forget();
  const meter = await cpuMeter(ours ? system.children : lean);
  const run = await closedLoop(CLIENTS, seconds, () => publish(ours));
  const received = await waitForReceipts(run.done);
  const last = lastReceipt(received);
  const cpu = await meter(received.length);
  return {
    acceptedPerSec: run.done.length / run.seconds,
    perSec: received.length / ((last - run.t0) / 1000),
    lost: run.done.length - received.length,
    apiCpuMs: cpu.api,
    workerCpuMs: cpu.worker,
    postgresCpuMs: cpu.postgres,
  };
}
/** p99 publish→socket receipt at a fixed rate. */
async function latencyAt(ours, rate) {
  forget();
  await sleep(500);
  const run = await openLoop(rate, LATENCY_SECONDS, () => publish(ours));
  const lots = run.results.map((x) => x.r);
  const received = await waitForReceipts(lots);
  const ms = received.map((l) => receivedAt.get(l) - sentAt.get(l)).sort((a, b) => a - b);
  if (process.env.BENCH_LATENCY_DUMP) {
    // One line per event: ms since the phase began, its latency and its time to the 202; to see when the slow ones were sent.
    const t0 = sentAt.get(lots[0]);
    const lines = received.map(
      (l) =>
        `${(sentAt.get(l) - t0).toFixed(1)} ${(receivedAt.get(l) - sentAt.get(l)).toFixed(1)} ` +
        `${(answeredAt.get(l) - sentAt.get(l)).toFixed(1)}`,
    );
    writeFileSync(`${process.env.BENCH_LATENCY_DUMP}.${ours ? 'ours' : 'lean'}`, `${lines.join('\n')}\n`);
  }
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), lost: lots.length - received.length + run.errors };
}

// ── rounds ─────────────────────────────────────────────────────────────────────────────────────────────────────
log('warm-up (not measured)', { seconds: WARMUP_SECONDS });
if (ONLY.has('lean')) await sustained(false, WARMUP_SECONDS);
if (ONLY.has('publish')) await sustained(true, WARMUP_SECONDS);
if (ONLY.has('scan')) await closedLoop(SCANNERS, WARMUP_SECONDS, scan);
if (ONLY.has('scan')) await closedLoop(SCANNERS, WARMUP_SECONDS, sqlReference);
let batchMissing = !ONLY.has('batch');
const rounds = [];
for (let r = 1; r <= ROUNDS; r++) {
  const R = { round: r };
  if (ONLY.has('lean')) {
    log(`round ${r} A: lean reference, sustained`, { clients: CLIENTS, seconds: SECONDS });
    R.lean = await sustained(false);
    log(`round ${r} A: lean reference, at ${PUBLISH_RATE}/s`, { seconds: LATENCY_SECONDS });
    R.leanLatency = await latencyAt(false, PUBLISH_RATE);
    log(`round ${r} A done`, {
      perSec: Math.round(R.lean.perSec),
      p99Ms: +R.leanLatency.p99.toFixed(1),
      apiCpuMsPerEvent: +R.lean.apiCpuMs?.toFixed(3),
      workerCpuMsPerEvent: +R.lean.workerCpuMs?.toFixed(3),
      postgresCpuMsPerEvent: +R.lean.postgresCpuMs.toFixed(3),
    });
  }
  if (ONLY.has('publish')) {
    log(`round ${r} B: POST /events, sustained`, { clients: CLIENTS, seconds: SECONDS });
    R.ours = await sustained(true);
    log(`round ${r} B: POST /events, at ${PUBLISH_RATE}/s`, { seconds: LATENCY_SECONDS });
    R.oursLatency = await latencyAt(true, PUBLISH_RATE);
    log(`round ${r} B: publish done`, {
      perSec: Math.round(R.ours.perSec),
      p99Ms: +R.oursLatency.p99.toFixed(1),
      apiCpuMsPerEvent: +R.ours.apiCpuMs?.toFixed(3),
      workerCpuMsPerEvent: +R.ours.workerCpuMs?.toFixed(3),
      postgresCpuMsPerEvent: +R.ours.postgresCpuMs.toFixed(3),
    });
  }
  if (!batchMissing) {
    log(`round ${r} B: POST /events/batch`, { clients: BATCH_CLIENTS, eventsPerRequest: BATCH_SIZE, seconds: SECONDS });
    forget();
    const probe = await publishBatch();
    if (probe === 'missing') {
      batchMissing = true;
      log('POST /events/batch answered 404 — not built on this branch: the batch row is skipped');
    } else {
      const run = await closedLoop(BATCH_CLIENTS, SECONDS, async () => {
        const lots = await publishBatch();
        if (lots === 'missing') throw new Error('POST /events/batch answered 404');
        return lots;
      });
      const received = await waitForReceipts(run.done);
      const last = lastReceipt(received);
      R.batch = { acceptedPerSec: run.done.length / run.seconds, perSec: received.length / ((last - run.t0) / 1000) };
      log(`round ${r} B: batch done`, { acceptedPerSec: Math.round(R.batch.acceptedPerSec) });
    }
  }
  if (ONLY.has('scan')) {
    log(`round ${r} B: scans`, { scanners: SCANNERS, skus: SKUS, seconds: SECONDS });
    const scanMeter = await cpuMeter(system.children);
    const scans = await closedLoop(SCANNERS, SECONDS, scan);
    R.scanPerSec = scans.done.length / scans.seconds;
    // CPU per scan: the api's and the worker's (storing and broadcasting the scans' events, concurrently), Postgres'.
    R.scanCpu = await scanMeter(scans.done.length);
    log(`round ${r} B: SQL reference`, { clients: SCANNERS, pool: PRODUCT_POOL, seconds: SECONDS });
    const sqlMeter = await cpuMeter(system.children);
    const sql = await closedLoop(SCANNERS, SECONDS, sqlReference);
    R.sqlPerSec = sql.done.length / sql.seconds;
    R.sqlPostgresCpu = (await sqlMeter(sql.done.length)).postgres;
    log(`round ${r} B: scans at ${SCAN_RATE}/s`, { seconds: LATENCY_SECONDS });
    const fixed = await openLoop(SCAN_RATE, LATENCY_SECONDS, scan);
    const scanMs = fixed.results.map((x) => x.ms).sort((a, b) => a - b);
    R.scanP99 = percentile(scanMs, 99);
    log(`round ${r} B: scans done`, {
      scanPerSec: Math.round(R.scanPerSec),
      sqlReferencePerSec: Math.round(R.sqlPerSec),
      scanP99At300Ms: +R.scanP99.toFixed(1),
    });
  }
  rounds.push(R);
}

// ── results ────────────────────────────────────────────────────────────────────────────────────────────────────
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const of = (f) =>
  rounds
    .map((R) => {
      try {
        return f(R);
      } catch {
        return undefined;
      }
    })
    .filter((x) => x !== undefined && x !== null && Number.isFinite(x));
const fig = (f, digits = 0) => {
  const xs = of(f);
  if (!xs.length) return { value: null, cell: '—' };
  const fmt = (x) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const value = +mean(xs).toFixed(digits);
  return {
    value,
    cell: `${fmt(value)} (${fmt(xs.reduce((a, b) => Math.min(a, b)))}–${fmt(xs.reduce((a, b) => Math.max(a, b)))})`,
  };
};
const publish_ = fig((R) => R.ours.perSec);
const lean_ = fig((R) => R.lean.perSec);
const ratio = fig((R) => R.ours.perSec / R.lean.perSec, 2);
const p99 = fig((R) => R.oursLatency.p99, 1);
const leanP99 = fig((R) => R.leanLatency.p99, 1);
const p99Ratio = fig((R) => R.oursLatency.p99 / R.leanLatency.p99, 2);
const batch = fig((R) => R.batch?.acceptedPerSec);
const batchRatio = fig((R) => R.batch && R.batch.acceptedPerSec / R.ours.acceptedPerSec, 2);
const scan_ = fig((R) => R.scanPerSec);
const sql_ = fig((R) => R.sqlPerSec);
const scanRatio = fig((R) => R.scanPerSec / R.sqlPerSec, 2);
const scanP99 = fig((R) => R.scanP99, 1);
const note = batchMissing && ONLY.has('batch') ? 'POST /events/batch answered 404: not measured' : '';
const table = [
  {
    figure: 'POST /events sustained, 64 clients, events/s stored + on the dashboard',
    ours: publish_.cell,
    reference: `lean ${lean_.cell}`,
    ratio: ratio.cell,
  },
  {
    figure: '  of which accepted by the api (durable), events/s',
    ours: fig((R) => R.ours.acceptedPerSec).cell,
    reference: `lean ${fig((R) => R.lean.acceptedPerSec).cell}`,
    ratio: fig((R) => R.ours.acceptedPerSec / R.lean.acceptedPerSec, 2).cell,
  },
  {
    figure: '  CPU ms per event, api process',
    ours: fig((R) => R.ours.apiCpuMs, 3).cell,
    reference: `lean ${fig((R) => R.lean.apiCpuMs, 3).cell}`,
    ratio: fig((R) => R.ours.apiCpuMs / R.lean.apiCpuMs, 2).cell,
  },
  {
    figure: '  CPU ms per event, worker process',
    ours: fig((R) => R.ours.workerCpuMs, 3).cell,
    reference: `lean ${fig((R) => R.lean.workerCpuMs, 3).cell}`,
    ratio: fig((R) => R.ours.workerCpuMs / R.lean.workerCpuMs, 2).cell,
  },
  {
    figure: "  CPU ms per event, Postgres (this run's backends)",
    ours: fig((R) => R.ours.postgresCpuMs, 3).cell,
    reference: `lean ${fig((R) => R.lean.postgresCpuMs, 3).cell}`,
    ratio: fig((R) => R.ours.postgresCpuMs / R.lean.postgresCpuMs, 2).cell,
  },
  {
    figure: `p99 publish → socket receipt at ${PUBLISH_RATE}/s, ms`,
    ours: p99.cell,
    reference: `lean ${leanP99.cell}`,
    ratio: p99Ratio.cell,
  },
  {
    figure: `p50 publish → socket receipt at ${PUBLISH_RATE}/s, ms`,
    ours: fig((R) => R.oursLatency.p50, 1).cell,
    reference: `lean ${fig((R) => R.leanLatency.p50, 1).cell}`,
    ratio: fig((R) => R.oursLatency.p50 / R.leanLatency.p50, 2).cell,
  },
  {
    figure: `POST /events/batch, ${BATCH_CLIENTS} clients × ${BATCH_SIZE}, events/s accepted${note ? ` (${note})` : ''}`,
    ours: batch.cell,
    reference: `single ${fig((R) => R.batch && R.ours.acceptedPerSec).cell}`,
    ratio: batchRatio.cell,
  },
  {
    figure: '  of which stored + on the dashboard, events/s',
    ours: fig((R) => R.batch?.perSec).cell,
    reference: '',
    ratio: '',
  },
  {
    figure: `inventory adjustments, ${SCANNERS} scanners × ${SKUS} SKUs, commands/s`,
    ours: scan_.cell,
    reference: `SQL ${sql_.cell}`,
    ratio: scanRatio.cell,
  },
  {
    figure: '  CPU ms per scan: api / worker / Postgres',
    ours: [fig((R) => R.scanCpu?.api, 3), fig((R) => R.scanCpu?.worker, 3), fig((R) => R.scanCpu?.postgres, 3)]
      .map((f) => f.value ?? '—')
      .join(' / '),
    reference: `SQL Postgres ${fig((R) => R.sqlPostgresCpu, 3).cell}`,
    ratio: fig((R) => R.scanCpu && R.scanCpu.postgres / R.sqlPostgresCpu, 2).cell,
  },
  { figure: `scan p99 at ${SCAN_RATE}/s, ms (HTTP answer)`, ours: scanP99.cell, reference: '', ratio: '' },
];
console.log(`\nWMS hot paths against references — ${ROUNDS} A/B rounds, mean (lowest–highest round)`);
console.table(table);
const lost = rounds.reduce((n, R) => n + (R.ours?.lost ?? 0) + (R.oursLatency?.lost ?? 0), 0);
if (lost) console.log(`WARNING: ${lost} accepted events of ours never reached the dashboard within 60 s`);

dashboard.disconnect();
leanSocket.disconnect();
await ref.end();
for (const c of lean) c.kill('SIGTERM');
await Promise.all(lean.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
await system.stop();
console.log(
  JSON.stringify({
    publishPerSec: publish_.value,
    leanPerSec: lean_.value,
    ratioToLean: ratio.value,
    p99At1000Ms: p99.value,
    leanP99At1000Ms: leanP99.value,
    p99RatioToLean: p99Ratio.value,
    batchPerSec: batch.value,
    batchRatio: batchRatio.value,
    scanPerSec: scan_.value,
    sqlReferencePerSec: sql_.value,
    scanRatio: scanRatio.value,
    scanP99At300Ms: scanP99.value,
  }),
);
process.exit(0);
