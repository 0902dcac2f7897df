import { expect } from 'vitest';
import { TEST_WAREHOUSES, type TestSystem } from './system.js';
import { waitFor } from './wait-for.js';

let counter = 0;

/** A valid GTIN-13 (GS1 check digit computed) for a small number. */
export function gtin(n: number): string {
  const body = String(400000000000 + n).padStart(12, '0');
  const sum = body
    .split('')
    .reverse()
    .reduce((acc, d, i) => acc + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return body + ((10 - (sum % 10)) % 10);
}

export interface DemoWarehouse {
  wh: string;
  /** sku → gtin */
  products: Record<string, string>;
  sku: (i: number) => string;
  supplier: string;
  customer: string;
  carrier: string;
}

/**
 * A fresh warehouse with a dock (DOCK-1, capacity 1000), storage A-01…A-04 (capacity 100 each),
 * `productCount` products with reorder point 5, a supplier, a customer and a carrier. With `code`, it may be one
 * of the bare warehouses the tenant was seeded with (TEST_WAREHOUSES), which it fills.
 */
export async function newWarehouse(sys: TestSystem, productCount = 2, code?: string): Promise<DemoWarehouse> {
  const n = ++counter;
  const wh = code ?? `W${n}-${Date.now().toString(36).toUpperCase()}`;
  const ok = async (path: string, body: unknown) => {
    const res = await sys.post(path, body);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body;
  };
  const created = await sys.post('/warehouses', { code: wh, name: `Warehouse ${n}` });
  const seeded = code !== undefined && TEST_WAREHOUSES.includes(code) && created.body.code === 'WAREHOUSE.EXISTS';
  if (!seeded) expect(created.status, `/warehouses: ${JSON.stringify(created.body)}`).toBeLessThan(300);
  await ok(`/warehouses/${wh}/zones`, { code: 'DOCK', name: 'Dock' });
  await ok(`/warehouses/${wh}/zones`, { code: 'A', name: 'Racking' });
  await ok(`/warehouses/${wh}/locations`, { code: 'DOCK-1', zoneCode: 'DOCK', capacity: 1000 });
  for (const code of ['A-01', 'A-02', 'A-03', 'A-04'])
    await ok(`/warehouses/${wh}/locations`, { code, zoneCode: 'A', capacity: 100 });
  const products: Record<string, string> = {};
  const sku = (i: number) => `${wh}-SKU${i}`;
  for (let i = 1; i <= productCount; i++) {
    products[sku(i)] = gtin((Date.now() % 100_000) * 1000 + n * 100 + i);
    await ok('/products', {
      sku: sku(i),
      gtin: products[sku(i)],
      name: `Product ${i}`,
      unitOfMeasure: 'EA',
      reorderPoint: 5,
    });
  }
  const partner = `P${n}`;
  await ok('/suppliers', { code: `${partner}-SUP`, name: 'Supplier' });
  await ok('/customers', { code: `${partner}-CUS`, name: 'Customer' });
  await ok('/carriers', { code: `${partner}-CAR`, name: 'Carrier' });
  return { wh, products, sku, supplier: `${partner}-SUP`, customer: `${partner}-CUS`, carrier: `${partner}-CAR` };
}

/** Receives `quantity` of a SKU at DOCK-1 and puts it away to `location`. */
export async function stockUp(
  sys: TestSystem,
  w: DemoWarehouse,
  sku: string,
  location: string,
  quantity: number,
  extra: Record<string, unknown> = {},
) {
  const received = await sys.post(`/warehouses/${w.wh}/receipts`, {
    barcode: w.products[sku],
    locationCode: 'DOCK-1',
    quantity,
    ...extra,
  });
  expect(received.status, JSON.stringify(received.body)).toBe(201);
  const moved = await sys.post(`/warehouses/${w.wh}/putaways`, {
    barcode: sku,
    fromLocation: 'DOCK-1',
    toLocation: location,
    quantity,
    lot: extra.lot,
  });
  expect(moved.status, JSON.stringify(moved.body)).toBe(201);
}

/** Takes a SKU from 8 available across its reorder point (5), which raises inventory.low_stock. */
export async function lowStock(sys: TestSystem, w: DemoWarehouse, sku: string) {
  await stockUp(sys, w, sku, 'A-01', 8);
  const res = await sys.post(`/warehouses/${w.wh}/adjustments`, {
    barcode: sku,
    locationCode: 'A-01',
    quantityDelta: -4,
    reasonCode: 'damaged',
  });
  expect(res.status).toBe(201);
}

/** Stock lines of the warehouse (as GET /warehouses/:wh/stock answers). */
export async function stockOf(sys: TestSystem, w: DemoWarehouse, query = '') {
  const res = await sys.get(`/warehouses/${w.wh}/stock${query}`);
  expect(res.status).toBe(200);
  return res.body as {
    sku: string;
    locationCode: string;
    lot: string;
    onHand: number;
    reserved: number;
    held: number;
    available: number;
  }[];
}

/** The events of a warehouse once the worker has stored everything accepted so far, oldest first. */
export async function eventsOf(sys: TestSystem, w: DemoWarehouse, names?: string[]) {
  await waitFor(
    'the outbox to drain',
    async () =>
      (await sys.db.query(`SELECT count(*)::int AS n FROM event_outbox WHERE envelope->>'tenantId' = $1`, [sys.tenant]))
        .rows[0].n === 0,
  );
  const { rows } = await sys.db.query(
    `SELECT name, payload FROM event_store WHERE tenant_id = $1 AND warehouse_id = $2 ORDER BY id`,
    [sys.tenant, w.wh],
  );
  return (rows as { name: string; payload: Record<string, any> }[]).filter((r) => !names || names.includes(r.name));
}
