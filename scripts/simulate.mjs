// `npm run simulate`: seeds a demo warehouse and drives realistic scanner traffic against a running api
// (start it with `npm start`), with occasional operator mistakes, then checks that the stock ledger balances
// (the sum of the stock-changing events equals the stock on hand).
//   --url http://localhost:3000   --seconds 60   --workers 4   --warehouse WH1
//   --email admin@demo.local   --password demo-password-1234   (the demo admin `npm start` seeds)
// Exits 0 when no unexpected error happened and the ledger balances; prints progress as JSON lines.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.SIMULATOR_URL ?? 'http://localhost:3000' },
    seconds: { type: 'string', default: '60' },
    workers: { type: 'string', default: '4' },
    warehouse: { type: 'string', default: 'WH1' },
    email: { type: 'string', default: process.env.SIMULATOR_EMAIL ?? 'admin@demo.local' },
    password: {
      type: 'string',
      default: process.env.SIMULATOR_PASSWORD ?? process.env.DEMO_PASSWORD ?? 'demo-password-1234',
    },
  },
});
const SECONDS = Number(opts.seconds);
const WORKERS = Number(opts.workers);
const WH = opts.warehouse;
const log = (msg, extra = {}) =>
  console.log(JSON.stringify({ level: 'info', time: new Date().toISOString(), msg, ...extra }));

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let seq = 0;
// Idempotency keys are unique per run: a key reused for another request is refused (422), as it should be.
const RUN = Date.now().toString(36);
const stats = { requests: 0, ok: 0, expectedRejections: 0, unexpected: 0, byOperation: {} };
const unexpected = [];

let accessToken = '';

async function login() {
  const res = await fetch(new URL('/auth/login', opts.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: opts.email, password: opts.password }),
  });
  const body = await res.json();
  if (res.status !== 200)
    throw new Error(
      `sign-in as ${opts.email} failed (${res.status} ${body.code}); pass --email and --password of an admin`,
    );
  accessToken = body.accessToken;
}

/** One HTTP call; `expect` lists the error codes this step may legitimately get (e.g. stock ran out). */
async function call(method, path, body, expect = []) {
  const result = await send(method, path, body, expect);
  if (result !== RETRY_AFTER_LOGIN) return result;
  await login();
  return send(method, path, body, expect);
}

const RETRY_AFTER_LOGIN = Symbol('retry');

function send(method, path, body, expect) {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, opts.url),
      {
        method,
        agent,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${accessToken}`,
          'idempotency-key': `sim-${WH}-${RUN}-${++seq}`,
          ...(data ? { 'content-length': Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          const json = text ? JSON.parse(text) : undefined;
          if (res.statusCode === 401 && json?.code === 'AUTH.INVALID_TOKEN') return resolve(RETRY_AFTER_LOGIN);
          stats.requests++;
          if (res.statusCode < 300) {
            stats.ok++;
            return resolve(json);
          }
          if (expect.includes(json?.code)) {
            stats.expectedRejections++;
            return resolve(null);
          }
          stats.unexpected++;
          unexpected.push({ method, path, status: res.statusCode, body: json });
          resolve(null);
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const rand = (n) => Math.floor(Math.random() * n);
const pick = (list) => list[rand(list.length)];
const gtin = (n) => {
  const body = String(500000000000 + n).padStart(12, '0');
  const sum = body
    .split('')
    .reverse()
    .reduce((a, d, i) => a + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return body + ((10 - (sum % 10)) % 10);
};

// ── seed ──────────────────────────────────────────────────────────────────────
const PRODUCTS = Array.from({ length: 20 }, (_, i) => ({
  sku: `${WH}-P${i + 1}`,
  gtin: gtin((Number.parseInt(WH.replace(/\W/g, '').slice(-6), 36) % 1_000_000) * 100 + i),
}));
const STORAGE = Array.from({ length: 12 }, (_, i) => `A-${String(i + 1).padStart(2, '0')}`);
const ids = { supplier: `${WH}-SUP`.slice(-32), customer: `${WH}-CUS`.slice(-32), carrier: `${WH}-CAR`.slice(-32) };

async function seed() {
  // Master data may exist from an earlier run against the same warehouse: "already exists" is fine.
  const must = async (path, body) => {
    if (
      !(await call('POST', path, body, [
        'WAREHOUSE.EXISTS',
        'ZONE.EXISTS',
        'LOCATION.EXISTS',
        'PRODUCT.EXISTS',
        'PRODUCT.GTIN_TAKEN',
        'SUPPLIER.EXISTS',
        'CUSTOMER.EXISTS',
        'CARRIER.EXISTS',
      ])) &&
      unexpected.length
    ) {
      throw new Error(`seeding failed at ${path}: ${JSON.stringify(unexpected.at(-1))}`);
    }
  };
  await must('/warehouses', { code: WH, name: 'Demo warehouse', timeZone: 'Europe/Amsterdam' });
  await must(`/warehouses/${WH}/zones`, { code: 'DOCK', name: 'Receiving dock' });
  await must(`/warehouses/${WH}/zones`, { code: 'A', name: 'Racking' });
  await must(`/warehouses/${WH}/locations`, { code: 'DOCK-1', zoneCode: 'DOCK' });
  for (const code of STORAGE) await must(`/warehouses/${WH}/locations`, { code, zoneCode: 'A', capacity: 400 });
  for (const [i, p] of PRODUCTS.entries())
    await must('/products', {
      sku: p.sku,
      gtin: p.gtin,
      name: `Demo product ${i + 1}`,
      unitOfMeasure: 'EA',
      reorderPoint: 10,
    });
  await must('/suppliers', { code: ids.supplier, name: 'Demo supplier' });
  await must('/customers', { code: ids.customer, name: 'Demo customer' });
  await must('/carriers', { code: ids.carrier, name: 'Demo carrier' });
}

// ── operations an operator does, with the mistakes operators make ─────────────
let asnCounter = 0;
let orderCounter = 0;

async function inbound() {
  const asn = `ASN-${++asnCounter}-${rand(1e6)}`;
  const lines = Array.from({ length: 1 + rand(3) }, () => ({ product: pick(PRODUCTS), quantity: 10 + rand(40) }));
  const unique = [...new Map(lines.map((l) => [l.product.sku, l])).values()];
  if (
    !(await call('POST', `/warehouses/${WH}/asns`, {
      asnNumber: asn,
      supplierCode: ids.supplier,
      lines: unique.map((l) => ({ barcode: l.product.gtin, quantity: l.quantity })),
    }))
  )
    return;
  for (const l of unique) {
    const roll = Math.random();
    const quantity = roll < 0.1 ? l.quantity + 2 : roll < 0.2 ? l.quantity - 3 : l.quantity; // over / short
    const damaged = Math.random() < 0.1 ? 1 : 0;
    await call('POST', `/warehouses/${WH}/receipts`, {
      asnNumber: asn,
      barcode: l.product.gtin,
      locationCode: 'DOCK-1',
      quantity,
      damaged,
    });
    await call(
      'POST',
      `/warehouses/${WH}/putaways`,
      { barcode: l.product.sku, fromLocation: 'DOCK-1', toLocation: pick(STORAGE), quantity },
      ['LOCATION.CAPACITY_EXCEEDED', 'INVENTORY.INSUFFICIENT_STOCK'],
    );
  }
  await call('POST', `/warehouses/${WH}/asns/${asn}/close`, {});
}

async function outbound() {
  const order = `SO-${++orderCounter}-${rand(1e6)}`;
  const lines = [...new Set(Array.from({ length: 1 + rand(3) }, () => pick(PRODUCTS)))].map((p) => ({
    barcode: p.sku,
    quantity: 1 + rand(5),
  }));
  if (!(await call('POST', `/warehouses/${WH}/orders`, { orderNumber: order, customerCode: ids.customer, lines })))
    return;
  const allocated = await call('POST', `/warehouses/${WH}/orders/${order}/allocate`, {}, [
    'INVENTORY.INSUFFICIENT_STOCK',
  ]);
  if (!allocated) {
    await call('POST', `/warehouses/${WH}/orders/${order}/cancel`, { reason: 'out of stock' });
    return;
  }
  for (const t of allocated.pickTasks) {
    if (Math.random() < 0.05)
      await call(
        'POST',
        `/warehouses/${WH}/picks/${t.taskId}`,
        { locationCode: t.locationCode === 'A-01' ? 'A-02' : 'A-01', barcode: t.sku, quantity: t.quantity },
        ['PICK.WRONG_LOCATION'],
      );
    const short = Math.random() < 0.08;
    await call('POST', `/warehouses/${WH}/picks/${t.taskId}`, {
      locationCode: t.locationCode,
      barcode: t.sku,
      quantity: short ? t.quantity - 1 : t.quantity,
    });
  }
  if (
    // Every pick of the order came up short with nothing: packing it is refused, as it must be.
    !(await call(
      'POST',
      `/warehouses/${WH}/orders/${order}/pack`,
      { cartons: [{ cartonId: `${order}-1`, weightKg: 1 + rand(20) }] },
      ['ORDER.NOTHING_PICKED'],
    ))
  )
    return;
  await call('POST', `/warehouses/${WH}/orders/${order}/ship`, {
    carrierCode: ids.carrier,
    trackingNumber: `TRK${rand(1e9)}`,
  });
}

async function housekeeping() {
  const stock = (await call('GET', `/warehouses/${WH}/stock`)) ?? [];
  const line = pick(stock.filter((s) => s.locationCode !== 'DOCK-1' && s.available > 0));
  const roll = Math.random();
  if (!line) return;
  if (roll < 0.4) {
    const counted = Math.random() < 0.3 ? Math.max(line.reserved + line.held, line.onHand - 1 - rand(2)) : line.onHand;
    await call(
      'POST',
      `/warehouses/${WH}/counts`,
      { barcode: line.sku, locationCode: line.locationCode, lot: line.lot, counted },
      ['INVENTORY.COUNT_BELOW_COMMITTED'],
    );
  } else if (roll < 0.7) {
    await call(
      'POST',
      `/warehouses/${WH}/adjustments`,
      { barcode: line.sku, locationCode: line.locationCode, lot: line.lot, quantityDelta: -1, reasonCode: 'damaged' },
      ['INVENTORY.INSUFFICIENT_STOCK'],
    );
  } else if (roll < 0.85) {
    await call(
      'POST',
      `/warehouses/${WH}/moves`,
      { barcode: line.sku, fromLocation: line.locationCode, toLocation: pick(STORAGE), lot: line.lot, quantity: 1 },
      ['INVENTORY.INSUFFICIENT_STOCK', 'INVENTORY.SAME_LOCATION', 'LOCATION.CAPACITY_EXCEEDED'],
    );
  } else {
    // Operator mistakes: an unknown label and a GTIN with a wrong check digit.
    await call(
      'POST',
      `/warehouses/${WH}/adjustments`,
      { barcode: 'NO-SUCH-ITEM', locationCode: line.locationCode, quantityDelta: 1, reasonCode: 'found' },
      ['PRODUCT.UNKNOWN_BARCODE'],
    );
    const bad = PRODUCTS[0].gtin.slice(0, 12) + ((Number(PRODUCTS[0].gtin[12]) + 1) % 10);
    await call('POST', `/warehouses/${WH}/receipts`, { barcode: bad, locationCode: 'DOCK-1', quantity: 1 }, [
      'PRODUCT.INVALID_GTIN',
    ]);
  }
}

// ── ledger: the events' quantities must add up to the stock on hand ────────────
async function eventsNamed(name) {
  const all = [];
  let cursor = '';
  for (;;) {
    const page = await call(
      'GET',
      `/events?warehouseId=${WH}&name=${name}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    all.push(...page.items);
    if (!page.nextCursor) return all;
    cursor = page.nextCursor;
  }
}

async function ledger() {
  const deltas = {
    'goods.received': (p) => p.quantity,
    'inventory.adjusted': (p) => p.quantityDelta,
    'inventory.discrepancy_found': (p) => p.quantityDelta,
    'pick.completed': (p) => -p.quantity,
    'pick.short': (p) => -p.picked,
  };
  let fromEvents = 0;
  for (const [name, delta] of Object.entries(deltas))
    for (const e of await eventsNamed(name)) fromEvents += delta(e.payload);
  const stock = (await call('GET', `/warehouses/${WH}/stock`)) ?? [];
  const onHand = stock.reduce((a, s) => a + s.onHand, 0);
  return { fromEvents, onHand, balanced: fromEvents === onHand };
}

// ── run ───────────────────────────────────────────────────────────────────────
log('seeding demo warehouse', { url: opts.url, user: opts.email, warehouse: WH });
await login();
await seed();
stats.expectedRejections = 0;
log('driving traffic', { seconds: SECONDS, workers: WORKERS });
const stopAt = Date.now() + SECONDS * 1000;
const progress = setInterval(
  () =>
    log('progress', {
      ...stats,
      byOperation: undefined,
      secondsLeft: Math.max(0, Math.round((stopAt - Date.now()) / 1000)),
    }),
  2000,
);
await Promise.all(
  Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = 0; Date.now() < stopAt; i++) {
      const op = w === 0 && i % 2 === 0 ? inbound : pick([inbound, outbound, outbound, housekeeping, housekeeping]);
      stats.byOperation[op.name] = (stats.byOperation[op.name] ?? 0) + 1;
      await op();
    }
  }),
);
clearInterval(progress);
// Events are stored by the worker shortly after they are accepted; wait until the store has caught up.
let balance;
for (let i = 0; i < 60; i++) {
  balance = await ledger();
  if (balance.balanced) break;
  await new Promise((r) => setTimeout(r, 500));
}
const summary = { warehouse: WH, ...stats, ledger: balance, unexpectedSamples: unexpected.slice(0, 5) };
log('simulation finished', summary);
agent.destroy();
process.exit(stats.unexpected === 0 && balance.balanced ? 0 : 1);
