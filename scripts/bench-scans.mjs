// `npm run bench:scans`: scanner adjustments (POST /warehouses/:wh/adjustments, each with its own Idempotency-Key)
// from 8, 32 and 64 concurrent scanners, each level next to the SQL reference — the least a correct adjustment
// writes (idempotency claim, conditional stock update, stream position upsert, outbox row, one transaction)
// issued with node-postgres through a pool of the product's size — then scans at a fixed rate for latency.
// Not a test: it prints figures and exits 0. The machine is shared: compare ratios, not absolute figures.
//   SCAN_BENCH_SECONDS (default 10)  per level     SCAN_BENCH_LEVELS (default 8,32,64)
//   SCAN_BENCH_RATE (default 300)    scans/s for the latency run    SCAN_BENCH_SKUS (default 200)
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { build, log, root, spawnBenchApp, startBenchSystem } from './services.mjs';

const SECONDS = Number(process.env.SCAN_BENCH_SECONDS ?? 10);
const LEVELS = (process.env.SCAN_BENCH_LEVELS ?? '8,32,64').split(',').map(Number);
const RATE = Number(process.env.SCAN_BENCH_RATE ?? 300);
const SKUS = Number(process.env.SCAN_BENCH_SKUS ?? 200);
const POOL = 20; // the product's pool (libs/events events.module.ts)
const WH = 'WH1';

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (!process.env.SCAN_BENCH_NO_BUILD) build();
// SCAN_BENCH_NO_WORKER=1 (a diagnosis, not a figure): the api alone, the outbox filling up.
// SCAN_BENCH_PROFILE=<dir>: a CPU profile of the api process, written there when it stops.
const system = await startBenchSystem({
  name: 'scanbench',
  env: { RATE_LIMIT_PER_MINUTE: '10000000' },
  apps: process.env.SCAN_BENCH_NO_WORKER ? ['api'] : ['api', 'worker'],
  spawnApp: (app, env) =>
    spawnBenchApp(
      app,
      env,
      app === 'api' && process.env.SCAN_BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SCAN_BENCH_PROFILE}`]
        : [],
    ),
});
const { base, children, databaseUrl, env } = system;
// A failed run must not leave the api and worker behind.
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM')));
spawnSync(process.execPath, [path.join(root, 'dist/apps/api/src/auth/demo-seed.js')], { env, stdio: 'ignore' });
const login = await (
  await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@demo.local', password: process.env.DEMO_PASSWORD ?? 'demo-password-1234' }),
  })
).json();
const admin = async (p, body) => {
  const res = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${login.accessToken}` },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${p}: ${JSON.stringify(json)}`);
  return json;
};
await admin(`/warehouses/${WH}/zones`, { code: 'B', name: 'Bulk' });
await admin(`/warehouses/${WH}/locations`, { code: 'B-01', zoneCode: 'B' });
await admin(`/warehouses/${WH}/locations`, { code: 'B-02', zoneCode: 'B' });
for (let i = 1; i <= SKUS; i++)
  await admin('/products', { sku: `SB-${i}`, gtin: gtin(i), name: `Bench ${i}`, unitOfMeasure: 'EA', reorderPoint: 0 });
// Scanners sign in as devices, as handhelds do.
const device = (await admin('/admin/devices', { name: 'bench scanner', warehouses: [WH] })).token;

function gtin(n) {
  const body = String(400000000000 + n).padStart(12, '0');
  const sum = [...body].reverse().reduce((acc, d, i) => acc + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return body + ((10 - (sum % 10)) % 10);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let seq = 0;
let scanFailure;
function scan() {
  const i = (seq++ % SKUS) + 1;
  const body = JSON.stringify({ barcode: `SB-${i}`, locationCode: 'B-01', quantityDelta: 1, reasonCode: 'found' });
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(
      `${base}/warehouses/${WH}/adjustments`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${device}`,
          'idempotency-key': randomUUID(),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 201 && !scanFailure)
            log('scan failed', { status: res.statusCode, body: (scanFailure = Buffer.concat(chunks).toString()) });
          resolve({ ok: res.statusCode === 201, ms: performance.now() - started });
        });
      },
    );
    req.on('error', () => resolve({ ok: false, ms: performance.now() - started }));
    req.end(body);
  });
}

// The SQL reference: the same rows a correct adjustment must write, nothing else.
const refPool = new pg.Pool({ connectionString: databaseUrl, max: POOL });
const { rows: tenantRows } = await refPool.query(`SELECT tenant_id FROM warehouses WHERE code = $1 LIMIT 1`, [WH]);
const tenant = tenantRows[0].tenant_id;
let refSeq = 0;
let refFailure;
async function reference() {
  const i = (refSeq++ % SKUS) + 1;
  const started = performance.now();
  const client = await refPool.connect();
  try {
    await client.query('BEGIN');
    const claimed = await client.query(
      `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash) VALUES ($1, 'device:ref', $2, 'h')
       ON CONFLICT DO NOTHING RETURNING key`,
      [tenant, randomUUID()],
    );
    if (!claimed.rowCount) throw new Error('claim');
    await client.query(
      `INSERT INTO stock (tenant_id, warehouse_code, sku, location_code, lot, on_hand) VALUES ($1, $2, $3, 'B-02', '', 1)
       ON CONFLICT (tenant_id, warehouse_code, sku, location_code, lot) DO UPDATE SET on_hand = stock.on_hand + 1
       WHERE stock.on_hand + 1 >= 0`,
      [tenant, WH, `SB-${i}`],
    );
    const { rows } = await client.query(
      `INSERT INTO event_streams (tenant_id, aggregate_type, aggregate_id, position) VALUES ($1, 'ref', $2, 1)
       ON CONFLICT (tenant_id, aggregate_type, aggregate_id) DO UPDATE SET position = event_streams.position + 1
       RETURNING position`,
      [tenant, `REF-${i}`],
    );
    const id = randomUUID();
    await client.query(`INSERT INTO event_reference_outbox (id, envelope) VALUES ($1, $2)`, [
      id,
      JSON.stringify({ id, name: 'inventory.adjusted', streamPosition: Number(rows[0].position), payload: { i } }),
    ]);
    await client.query('COMMIT');
    return { ok: true, ms: performance.now() - started };
  } catch (error) {
    if (!refFailure) log('SQL reference failed', { error: (refFailure = error).message });
    await client.query('ROLLBACK').catch(() => {});
    return { ok: false, ms: performance.now() - started };
  } finally {
    client.release();
  }
}
// A table shaped like the outbox but that the worker does not drain, so the reference costs only its writes.
await refPool.query(`CREATE TABLE event_reference_outbox (id uuid PRIMARY KEY, envelope jsonb NOT NULL)`);

// CPU time (ms) a process has used so far: on a shared machine, CPU per scan is the figure that noise moves least.
const cpuMs = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
};

async function sustain(op, clients, seconds) {
  const until = performance.now() + seconds * 1000;
  const latencies = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const r = await op();
        if (r.ok) latencies.push(r.ms);
        else failed++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    perSec: Math.round(latencies.length / seconds),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failed,
  };
}

async function fixedRate(op, rate, seconds) {
  const latencies = [];
  let failed = 0;
  const pending = [];
  const start = performance.now();
  for (let n = 0; n < rate * seconds; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(op().then((r) => (r.ok ? latencies.push(r.ms) : failed++)));
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed };
}

await sustain(scan, 8, 2); // warm-up: caches, JIT, connections
await sustain(reference, 8, 1);
const results = [];
for (const clients of LEVELS) {
  const ref = await sustain(reference, clients, SECONDS);
  const cpuBefore = children.map((c) => cpuMs(c.pid));
  const ours = await sustain(scan, clients, SECONDS);
  const [apiCpu, workerCpu] = children.map((c, i) => (cpuMs(c.pid) - cpuBefore[i]) / (ours.perSec * SECONDS));
  results.push({ clients, ours, ref, ratio: ours.perSec / ref.perSec, apiCpu, workerCpu });
  log('scan level', { clients, scansPerSec: ours.perSec, p99: Math.round(ours.p99), refPerSec: ref.perSec });
}
const atRate = await fixedRate(scan, RATE, SECONDS);

console.log(
  '\nscanners | scans/s | p50 ms | p99 ms | failed | SQL ref/s | ref p99 ms | ratio | api/worker CPU ms per scan',
);
for (const r of results)
  console.log(
    `${String(r.clients).padStart(8)} | ${String(r.ours.perSec).padStart(7)} | ${r.ours.p50.toFixed(1).padStart(6)} | ` +
      `${r.ours.p99.toFixed(1).padStart(6)} | ${String(r.ours.failed).padStart(6)} | ${String(r.ref.perSec).padStart(9)} | ` +
      `${r.ref.p99.toFixed(1).padStart(10)} | ${r.ratio.toFixed(2)} | ${r.apiCpu.toFixed(2)} / ${r.workerCpu?.toFixed(2) ?? '-'}`,
  );
console.log(
  `fixed ${RATE} scans/s for ${SECONDS} s: p50 ${atRate.p50.toFixed(1)} ms, p99 ${atRate.p99.toFixed(1)} ms, failed ${atRate.failed}`,
);
console.log(
  JSON.stringify({
    levels: results.map((r) => ({
      clients: r.clients,
      scanPerSec: r.ours.perSec,
      p99Ms: Math.round(r.ours.p99),
      sqlReferencePerSec: r.ref.perSec,
      scanRatio: Number(r.ratio.toFixed(2)),
    })),
    scanP99AtRateMs: Math.round(atRate.p99),
    rate: RATE,
  }),
);

await refPool.end();
await system.stop();
