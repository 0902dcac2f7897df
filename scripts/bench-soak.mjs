// `npm run bench:soak`: does memory stay flat under steady load? Starts its own api and worker (with --expose-gc)
// on a fresh database, drives them for SOAK_MINUTES, and every SOAK_SAMPLE_SECONDS prints both processes' heap
// used after a forced GC and their RSS. RSS moves by tens of MB with garbage collection; post-GC heap is the figure
// that shows a leak. The least-squares slope of post-GC heap over the last 80 % of the run (8 of 10 minutes) must
// stay under 1 MB/min. Not a test: it prints figures and exits 0. The last line is one JSON object:
//   {"heapSlopeMBPerMin":…,"apiHeapMB":…,"workerHeapMB":…,"apiRssMB":…,"workerRssMB":…}   (slope: the worse one)
//
// Load, all at once, the shapes production sees:
//   - SOAK_CLIENTS (default 4) integrations, each with its own API key, POST /events at SOAK_RATE (default 500)
//     events/s between them, open loop (a send is skipped — counted as "skipped" — when a client already has
//     SOAK_INFLIGHT requests outstanding: the rate reached is printed);
//   - scanners: scripts/simulate.mjs with SOAK_SCANNERS (default 2) operators doing receipts, putaways, picks,
//     packing, counts and their mistakes;
//   - a supervisor's dashboard: a socket subscribed to every warehouse (the broadcast path), GET /dashboard/stats
//     every 5 s, a Prometheus scrape of GET /metrics every 15 s, and a second dashboard that connects, subscribes
//     and leaves every 20 s (rooms and per-socket state must go away with it).
//
// Reading memory: the api and the worker are spawned with an IPC channel and preload scripts/soak-probe.mjs, which
// answers this process only (no port, so no tenant can reach it; the product carries no diagnostic route).
// SOAK_HEAPSNAPSHOTS=<dir> also writes a heap snapshot of each at the start of the measured window and at the end
// (compare them with `node scripts/heap-compare.mjs a.heapsnapshot b.heapsnapshot`).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { io } from 'socket.io-client';
import { build, log, root, startBenchSystem } from './services.mjs';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const RATE = Number(process.env.SOAK_RATE ?? 500);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 4);
const INFLIGHT = Number(process.env.SOAK_INFLIGHT ?? 64);
const SCANNERS = Number(process.env.SOAK_SCANNERS ?? 2);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30);
const SNAPSHOTS = process.env.SOAK_HEAPSNAPSHOTS ? path.resolve(process.env.SOAK_HEAPSNAPSHOTS) : null;
const WAREHOUSES = ['WH1', 'WH2', 'WH3', 'WH4'];
const DURATION_MS = MINUTES * 60_000;
/** The slope is taken over the last 80 % of the run: the first 20 % is warm-up (JIT, pools, caches filling). */
const WINDOW_FROM_MS = DURATION_MS * 0.2;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes) => +(bytes / 1024 / 1024).toFixed(1);

build();
const probe = pathToFileURL(path.join(root, 'scripts/soak-probe.mjs')).href;
const system = await startBenchSystem({
  name: 'soak',
  env: {
    RATE_LIMIT_PER_MINUTE: '10000000',
    // The demo tenant operates the install here, so the dashboard's admin may scrape /metrics.
    OPS_TENANT: 'demo',
    // One sign-in lasts the run: the dashboard socket stays connected throughout.
    ACCESS_TOKEN_TTL_S: String(Math.min(86_400, Math.ceil(DURATION_MS / 1000) + 600)),
  },
  // The probe answers this process over IPC: a forced GC and the memory figures, or a heap snapshot.
  spawnApp: (app, env) =>
    spawn(process.execPath, ['--expose-gc', '--import', probe, path.join(root, `dist/apps/${app}/src/main.js`)], {
      env,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    }),
});
const { base, env, prefix } = system;
const apps = { api: system.children[0], worker: system.children[1] };

// The apps' own logs (warnings and errors) are kept for reading after the run.
const logDir = mkdtempSync(path.join(os.tmpdir(), 'wms-soak-'));
for (const [name, child] of Object.entries(apps))
  child.stdout.pipe(createWriteStream(path.join(logDir, `${name}.log`)));
for (const [name, child] of Object.entries(apps))
  child.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(`the ${name} exited during the soak (code ${code}, signal ${signal})`);
      process.exit(1);
    }
  });
let stopping = false;

let askSeq = 0;
/** Sends `msg` to a child's probe and waits for its answer. */
function ask(child, msg, timeoutMs = 120_000) {
  const id = ++askSeq;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no answer to ${msg.soak} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (answer) => {
      if (answer?.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(answer);
    };
    child.on('message', onMessage);
    child.send({ ...msg, id });
  });
}

// Credentials: the demo admin signs in and issues one API key per integration.
spawnSync(process.execPath, [path.join(root, 'dist/apps/api/src/auth/demo-seed.js')], { env, stdio: 'ignore' });
const password = process.env.DEMO_PASSWORD ?? 'demo-password-1234';
const session = await (
  await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'admin@demo.local', password }),
  })
).json();
const asAdmin = { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` };
for (const code of WAREHOUSES) {
  const res = await fetch(`${base}/warehouses`, {
    method: 'POST',
    headers: asAdmin,
    body: JSON.stringify({ code, name: `Soak ${code}` }),
  });
  const body = await res.json();
  if (!res.ok && body.code !== 'WAREHOUSE.EXISTS') throw new Error(`creating ${code} failed: ${JSON.stringify(body)}`);
}
const clients = [];
for (let i = 0; i < CLIENTS; i++) {
  const res = await fetch(`${base}/admin/api-keys`, {
    method: 'POST',
    headers: asAdmin,
    body: JSON.stringify({ name: `soak-${i + 1}`, warehouses: [] }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`issuing an API key failed: ${JSON.stringify(body)}`);
  clients.push({
    token: body.token,
    agent: new http.Agent({ keepAlive: true, maxSockets: 16 }),
    inflight: 0,
  });
}

// The supervisor's dashboard: one socket on every warehouse for the whole run.
// `broadcasts` counts the integrations' events only (the scanners' events reach it too): backlog = accepted − broadcast.
let broadcasts = 0;
let otherBroadcasts = 0;
const dashboard = io(base, { transports: ['websocket'], auth: { token: session.accessToken } });
dashboard.on('events', (batch) =>
  batch.forEach((e) => (e?.payload?.detail?.startsWith?.('soak ') ? broadcasts++ : otherBroadcasts++)),
);
for (const warehouseId of WAREHOUSES) await dashboard.timeout(5000).emitWithAck('subscribe', { warehouseId });

const counts = {
  accepted: 0,
  skipped: 0,
  errors: 0,
  byStatus: {},
  polls: 0,
  pollErrors: 0,
  pollErrorsBy: {},
  churned: 0,
};
let seq = 0;
function publish(client) {
  const n = ++seq;
  const warehouseId = WAREHOUSES[n % WAREHOUSES.length];
  const body = JSON.stringify({
    name: 'carrier.tracking_updated',
    payload: {
      warehouseId,
      orderNumber: `SO-${n % 5000}`,
      carrierCode: 'DHL',
      trackingNumber: `JD${n}`,
      status: 'in_transit',
      detail: `soak ${n}`,
    },
  });
  client.inflight++;
  const req = http.request(
    `${base}/events`,
    {
      method: 'POST',
      agent: client.agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        authorization: `Bearer ${client.token}`,
        'idempotency-key': `${prefix}-${n}`,
      },
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        client.inflight--;
        if (res.statusCode === 202) counts.accepted++;
        else {
          counts.errors++;
          counts.byStatus[res.statusCode] = (counts.byStatus[res.statusCode] ?? 0) + 1;
        }
      });
    },
  );
  req.on('error', () => {
    client.inflight--;
    counts.errors++;
  });
  req.end(body);
}

function pollFailed(what) {
  counts.pollErrors++;
  counts.pollErrorsBy[what] = (counts.pollErrorsBy[what] ?? 0) + 1;
}

async function get(pathname) {
  counts.polls++;
  try {
    const res = await fetch(`${base}${pathname}`, { headers: asAdmin });
    await res.arrayBuffer();
    if (!res.ok) pollFailed(`${pathname.split('?')[0]} ${res.status}`);
  } catch (error) {
    pollFailed(`${pathname.split('?')[0]} ${error.message}`);
  }
}

/** A dashboard that opens, subscribes to one warehouse, and closes again. */
async function churn(i) {
  const s = io(base, { transports: ['websocket'], auth: { token: session.accessToken }, forceNew: true });
  try {
    await s.timeout(5000).emitWithAck('subscribe', { warehouseId: WAREHOUSES[i % WAREHOUSES.length] });
    await sleep(5000);
    counts.churned++;
  } catch (error) {
    pollFailed(`churned dashboard ${error.message}`);
  } finally {
    s.disconnect();
  }
}

async function sample(t) {
  const [api, worker] = await Promise.all([ask(apps.api, { soak: 'memory' }), ask(apps.worker, { soak: 'memory' })]);
  return { t, api, worker };
}

async function snapshot(label) {
  if (!SNAPSHOTS) return;
  mkdirSync(SNAPSHOTS, { recursive: true });
  for (const [name, child] of Object.entries(apps)) {
    const { file } = await ask(child, {
      soak: 'snapshot',
      file: path.join(SNAPSHOTS, `${name}-${label}.heapsnapshot`),
    });
    log('heap snapshot written', { file });
  }
}

// Scanners: the simulator's operators, for the whole run.
const scanners = spawn(
  process.execPath,
  [
    path.join(root, 'scripts/simulate.mjs'),
    '--url',
    base,
    '--seconds',
    // They stop a little early so that their closing ledger check (stock = sum of the events) ends with the run.
    String(Math.max(10, Math.ceil(DURATION_MS / 1000) - 30)),
    '--workers',
    String(SCANNERS),
    '--warehouse',
    'WH1',
    '--password',
    password,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let scannerProgress = null;
let scannerSummary = null;
let scannerBuffer = '';
scanners.stdout.setEncoding('utf8');
scanners.stdout.on('data', (chunk) => {
  scannerBuffer += chunk;
  const lines = scannerBuffer.split('\n');
  scannerBuffer = lines.pop();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line);
      if (entry.msg === 'progress') scannerProgress = entry;
      if (entry.msg === 'simulation finished') scannerSummary = entry;
    } catch {
      // not a JSON line
    }
  }
});
const scannersDone = new Promise((r) => scanners.once('exit', (code) => r(code)));

log('soak', { minutes: MINUTES, rate: RATE, clients: CLIENTS, scanners: SCANNERS, sampleSeconds: SAMPLE_SECONDS });
const samples = [];
const t0 = performance.now();
const elapsed = () => performance.now() - t0;
let scheduled = 0;
let next = 0;
const pump = setInterval(() => {
  const due = Math.min(Math.floor((elapsed() / 1000) * RATE), Math.floor((DURATION_MS / 1000) * RATE));
  for (; scheduled < due; scheduled++) {
    const client = clients[next++ % clients.length];
    if (client.inflight >= INFLIGHT) counts.skipped++;
    else publish(client);
  }
}, 5);
let pollTick = 0;
const poller = setInterval(() => {
  pollTick++;
  void get(`/dashboard/stats?warehouseId=${WAREHOUSES[pollTick % WAREHOUSES.length]}`);
  if (pollTick % 3 === 0) void get('/metrics');
  if (pollTick % 4 === 0) void churn(pollTick);
}, 5000);

function printSample(s, prev) {
  const seconds = (s.t - prev.t) / 1000 || 1;
  console.log(
    JSON.stringify({
      minute: +(s.t / 60_000).toFixed(1),
      apiHeapMB: mb(s.api.heapUsed),
      apiRssMB: mb(s.api.rss),
      workerHeapMB: mb(s.worker.heapUsed),
      workerRssMB: mb(s.worker.rss),
      acceptedPerSecond: Math.round((s.accepted - prev.accepted) / seconds),
      broadcastPerSecond: Math.round((s.broadcasts - prev.broadcasts) / seconds),
      backlog: s.accepted - s.broadcasts,
      skipped: s.skipped,
      errors: s.errors,
    }),
  );
}

/** A sample stamped with the time it was asked for (under load the answers can lag the schedule by seconds). */
const take = async () => {
  const s = {
    ...(await sample(elapsed())),
    accepted: counts.accepted,
    broadcasts,
    skipped: counts.skipped,
    errors: counts.errors,
  };
  printSample(s, samples.at(-1) ?? s);
  samples.push(s);
  return s;
};
await take();
let snapshotted = false;
for (let k = 1; k * SAMPLE_SECONDS * 1000 < DURATION_MS; k++) {
  const at = k * SAMPLE_SECONDS * 1000;
  await sleep(Math.max(0, at - elapsed()));
  await take();
  if (!snapshotted && at >= WINDOW_FROM_MS) {
    snapshotted = true;
    await snapshot(`${Math.round(at / 1000)}s`);
  }
}
await sleep(Math.max(0, DURATION_MS - elapsed()));
clearInterval(pump);
clearInterval(poller);
// Let the requests in flight answer, then the last sample, at the run's end.
for (let i = 0; i < 100 && clients.some((c) => c.inflight > 0); i++) await sleep(100);
const last = await take();
await snapshot('end');

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  return sxx ? sxy / sxx : 0;
}
const window = samples.filter((s) => s.t >= WINDOW_FROM_MS);
const slopeOf = (which) => slope(window.map((s) => ({ x: s.t / 60_000, y: s[which].heapUsed / 1024 / 1024 })));
const apiSlope = slopeOf('api');
const workerSlope = slopeOf('worker');

/** Lines at level error or fatal in an app's log, and the first one's message. */
function errorLines(name) {
  const errors = readFileSync(path.join(logDir, `${name}.log`), 'utf8')
    .split('\n')
    .filter((line) => /"level":(50|60)\b/.test(line));
  return { count: errors.length, first: errors[0]?.slice(0, 300) };
}
const scannerExit = await Promise.race([scannersDone, sleep(180_000).then(() => 'timeout')]);
if (scannerExit === 'timeout') scanners.kill('SIGTERM');
const seconds = DURATION_MS / 1000;
const appErrors = Object.fromEntries(Object.keys(apps).map((name) => [name, errorLines(name)]));
const keepLogs = Object.values(appErrors).some((e) => e.count > 0);
log('soak finished', {
  minutes: MINUTES,
  targetRate: RATE,
  acceptedPerSecond: Math.round(counts.accepted / seconds),
  accepted: counts.accepted,
  skipped: counts.skipped,
  errors: counts.errors,
  byStatus: counts.byStatus,
  broadcastsReceived: broadcasts,
  otherBroadcastsReceived: otherBroadcasts,
  dashboardPolls: counts.polls,
  dashboardPollErrors: counts.pollErrors,
  dashboardPollErrorsBy: counts.pollErrorsBy,
  churnedDashboards: counts.churned,
  scanners: scannerSummary
    ? {
        requests: scannerSummary.requests,
        ok: scannerSummary.ok,
        unexpected: scannerSummary.unexpected,
        ledger: scannerSummary.ledger,
      }
    : { progress: scannerProgress, exit: scannerExit },
  appErrors,
  ...(keepLogs ? { appLogs: logDir } : {}),
  slopeWindowMinutes: [+(WINDOW_FROM_MS / 60_000).toFixed(1), MINUTES],
  apiHeapSlopeMBPerMin: +apiSlope.toFixed(3),
  workerHeapSlopeMBPerMin: +workerSlope.toFixed(3),
});

stopping = true;
dashboard.disconnect();
for (const c of clients) c.agent.destroy();
await system.stop();
if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    heapSlopeMBPerMin: +Math.max(apiSlope, workerSlope).toFixed(3),
    apiHeapMB: mb(last.api.heapUsed),
    workerHeapMB: mb(last.worker.heapUsed),
    apiRssMB: mb(last.api.rss),
    workerRssMB: mb(last.worker.rss),
  }),
);
process.exit(0);
