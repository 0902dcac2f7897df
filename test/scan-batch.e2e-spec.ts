import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from './support/api-process.js';
import { startSystem, type TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';
import { type DemoWarehouse, newWarehouse, stockOf, stockUp } from './support/warehouse-factory.js';

const OFFLINE_ACCEPT_DAYS = 3;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/**
 * Offline scanner sync (POST /warehouses/:wh/scans/batch) and the master-data caches on the scan path: a queue sent
 * twice changes nothing the second time, one refused scan refuses only itself, and a location blocked or unblocked
 * on one api instance is refused or accepted at once on another.
 */
describe('POST /warehouses/:wh/scans/batch', () => {
  let sys: TestSystem;
  let b: ApiProcess;
  let w: DemoWarehouse;

  beforeAll(async () => {
    sys = await startSystem({ env: { OFFLINE_ACCEPT_DAYS: String(OFFLINE_ACCEPT_DAYS) } });
    b = await startApiProcess(sys.env);
    w = await newWarehouse(sys, 2);
    await stockUp(sys, w, w.sku(1), 'A-01', 40);
  });
  afterAll(async () => {
    await b?.stop();
    await sys?.close();
  });

  const batch = (items: unknown[], extra: Record<string, unknown> = {}) =>
    sys.post(`/warehouses/${w.wh}/scans/batch`, { items, ...extra });
  const scan = (operation: string, body: Record<string, unknown>, scannedAt = ago(60_000)) => ({
    operation,
    body,
    idempotencyKey: `scan-${randomUUID()}`,
    scannedAt,
  });
  const adjust = (quantityDelta: number, locationCode = 'A-01', scannedAt?: string) =>
    scan('adjust', { barcode: w.sku(1), locationCode, quantityDelta, reasonCode: 'found' }, scannedAt);
  const onHand = async (sku: string, location: string) =>
    (await stockOf(sys, w)).find((s) => s.sku === sku && s.locationCode === location)?.onHand ?? 0;
  /** Every event of the warehouse, wherever it is (outbox or store), with its stream position and occurredAt. */
  const events = async () => {
    const { rows } = await sys.db.query(
      `SELECT id, name, occurred_at, position FROM (
         SELECT id, envelope->>'name' AS name, envelope->>'occurredAt' AS occurred_at,
                (envelope->>'streamPosition')::int AS position
         FROM event_outbox WHERE envelope->>'tenantId' = $1 AND envelope->>'warehouseId' = $2
         UNION
         SELECT id, name, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), stream_position::int
         FROM event_store WHERE tenant_id = $1 AND warehouse_id = $2
       ) e ORDER BY id`,
      [sys.tenant, w.wh],
    );
    return rows as { id: string; name: string; occurred_at: string; position: number }[];
  };
  const streams = async () =>
    (
      await sys.db.query(
        `SELECT aggregate_type, aggregate_id, position::int FROM event_streams
         WHERE tenant_id = $1 AND aggregate_id LIKE $2 ORDER BY 1, 2`,
        [sys.tenant, `${w.wh}/%`],
      )
    ).rows;

  it('applies a queue in order with the scan times as occurredAt; sending it again changes nothing', async () => {
    const queue = [
      adjust(-2, 'A-01', ago(3 * 3600_000)),
      scan('move', { barcode: w.sku(1), fromLocation: 'A-01', toLocation: 'A-02', quantity: 3 }, ago(2 * 3600_000)),
      scan('receive', { barcode: w.products[w.sku(2)], locationCode: 'DOCK-1', quantity: 5 }, ago(3600_000)),
      scan('putaway', { barcode: w.sku(2), fromLocation: 'DOCK-1', toLocation: 'A-03', quantity: 5 }, ago(60_000)),
    ];
    const before = { a1: await onHand(w.sku(1), 'A-01'), a2: await onHand(w.sku(1), 'A-02') };
    const first = await batch(queue);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.items.map((i: { status: string }) => i.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
    ]);
    expect(first.body.items[0].result).toEqual({ sku: w.sku(1), onHand: before.a1 - 2 });
    expect(await onHand(w.sku(1), 'A-01')).toBe(before.a1 - 5);
    expect(await onHand(w.sku(1), 'A-02')).toBe(before.a2 + 3);
    expect(await onHand(w.sku(2), 'A-03')).toBe(5);
    const recorded = new Map((await events()).map((e) => [e.id, e]));
    for (const [i, item] of first.body.items.entries()) {
      expect(item.eventIds.length).toBeGreaterThan(0);
      for (const id of item.eventIds) expect(recorded.get(id)?.occurred_at).toBe(queue[i].scannedAt);
    }

    const [stock, stored, positions] = [await stockOf(sys, w), await events(), await streams()];
    const again = await batch(queue);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.items.map((i: { status: string }) => i.status)).toEqual([
      'replayed',
      'replayed',
      'replayed',
      'replayed',
    ]);
    expect(again.body.items[0].result).toEqual(first.body.items[0].result);
    expect(await stockOf(sys, w)).toEqual(stock);
    expect((await events()).map((e) => e.id)).toEqual(stored.map((e) => e.id));
    expect(await streams()).toEqual(positions);
  });

  it('refuses a bad scan, naming its field, and applies the others', async () => {
    const before = await onHand(w.sku(1), 'A-01');
    const res = await batch([
      adjust(1),
      { ...adjust(1), body: { barcode: w.sku(1), locationCode: 'A-01', quantityDelta: 'x', reasonCode: 'found' } },
      adjust(1, 'NO-SUCH-LOC'),
      adjust(-1_000),
      adjust(2),
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items.map((i: { status: string }) => i.status)).toEqual([
      'applied',
      'refused',
      'refused',
      'refused',
      'applied',
    ]);
    expect(res.body.items[1].code).toBe('REQUEST.INVALID');
    expect(res.body.items[1].errors.map((e: { field: string }) => e.field)).toContain('items[1].body.quantityDelta');
    expect(res.body.items[2]).toMatchObject({
      code: 'LOCATION.UNKNOWN',
      errors: [{ field: 'items[2].body.locationCode' }],
    });
    expect(res.body.items[3]).toMatchObject({
      code: 'INVENTORY.INSUFFICIENT_STOCK',
      errors: [{ field: 'items[3].body.quantityDelta' }],
    });
    expect(res.body).toMatchObject({ applied: 2, refused: 3, replayed: 0, skipped: 0 });
    expect(await onHand(w.sku(1), 'A-01')).toBe(before + 3);
  });

  it('skips the rest after the first refusal when asked to stop on error', async () => {
    const before = await onHand(w.sku(1), 'A-01');
    const res = await batch([adjust(1), adjust(1, 'NO-SUCH-LOC'), adjust(1)], { stopOnError: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items.map((i: { status: string }) => i.status)).toEqual(['applied', 'refused', 'skipped']);
    expect(await onHand(w.sku(1), 'A-01')).toBe(before + 1);
  });

  it('refuses a scan older than OFFLINE_ACCEPT_DAYS, changing nothing, and applies the next', async () => {
    const before = await onHand(w.sku(1), 'A-01');
    const stored = (await events()).length;
    const res = await batch([adjust(5, 'A-01', ago((OFFLINE_ACCEPT_DAYS + 1) * 86_400_000)), adjust(1)]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items[0]).toMatchObject({
      status: 'refused',
      code: 'EVENTS.OCCURRED_AT_OUT_OF_WINDOW',
      errors: [{ field: 'items[0].scannedAt' }],
    });
    expect(res.body.items[1].status).toBe('applied');
    expect(await onHand(w.sku(1), 'A-01')).toBe(before + 1);
    expect((await events()).length).toBe(stored + 1);
  });

  it('answers 400 for a malformed batch and applies none of it', async () => {
    const before = await onHand(w.sku(1), 'A-01');
    const cases: [unknown, string][] = [
      [{ items: 'adjust' }, 'items'],
      [{ items: [] }, 'items'],
      [{ items: Array.from({ length: 501 }, () => adjust(1)) }, 'items'],
      [{ items: [adjust(1), { ...adjust(1), operation: 'teleport' }] }, 'items.1.operation'],
      [{ items: [adjust(1), { ...adjust(1), idempotencyKey: undefined }] }, 'items.1.idempotencyKey'],
      [{ items: [adjust(1)], stopOnError: 'yes' }, 'stopOnError'],
    ];
    for (const [body, field] of cases) {
      const res = await sys.post(`/warehouses/${w.wh}/scans/batch`, body);
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    expect(await onHand(w.sku(1), 'A-01')).toBe(before);
  });

  it('takes 500 scans in one request', async () => {
    const before = await onHand(w.sku(1), 'A-01');
    const res = await batch(Array.from({ length: 500 }, () => adjust(1)));
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect(res.body.applied).toBe(500);
    expect(await onHand(w.sku(1), 'A-01')).toBe(before + 500);
  });
});

describe('master data cached on the scan path, across api instances', () => {
  let sys: TestSystem;
  let b: ApiProcess;
  let w: DemoWarehouse;

  beforeAll(async () => {
    sys = await startSystem();
    b = await startApiProcess(sys.env);
    w = await newWarehouse(sys, 1);
  });
  afterAll(async () => {
    await b?.stop();
    await sys?.close();
  });

  /** An adjustment sent to the second api instance. */
  const adjustOnB = (locationCode: string) =>
    fetch(`${b.url}/warehouses/${w.wh}/adjustments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sys.tokens.admin}` },
      body: JSON.stringify({ barcode: w.sku(1), locationCode, quantityDelta: 1, reasonCode: 'found' }),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));

  it('refuses the next scan at a location blocked a moment ago on another instance, and accepts it once unblocked', async () => {
    // B has seen A-04 usable (and cached it).
    expect((await adjustOnB('A-04')).status).toBe(201);
    expect((await adjustOnB('A-04')).status).toBe(201);
    const blocked = await sys.post(`/warehouses/${w.wh}/locations/A-04/block`, { reason: 'rack damaged' });
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(200);
    const refused = await adjustOnB('A-04');
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.code).toBe('LOCATION.BLOCKED');
    // Now B has seen it blocked; unblocking it on A reaches B on commit.
    expect((await adjustOnB('A-04')).body.code).toBe('LOCATION.BLOCKED');
    const unblocked = await sys.post(`/warehouses/${w.wh}/locations/A-04/unblock`, {});
    expect(unblocked.status, JSON.stringify(unblocked.body)).toBe(200);
    await waitFor('B to accept scans at A-04 again', async () => (await adjustOnB('A-04')).status === 201, 1000);
  });
});
