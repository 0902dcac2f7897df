import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEvents, startSystem, TestSystem } from './support/system.js';
import { eventsOf, gtin, newWarehouse, stockOf, stockUp } from './support/warehouse-factory.js';

describe('warehouse operations', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.close();
  });

  const names = (events: { name: string }[]) => events.map((e) => e.name);
  // Accepted events are in the outbox, the store, or briefly both: count them once, in one snapshot.
  const eventCount = () => acceptedEvents(sys.db, sys.tenant);

  /** Asserts a refused command: status, code, named field, and that no event was recorded. */
  async function expectRefused(path: string, body: unknown, status: number, code: string, field: string) {
    const before = await eventCount();
    const res = await sys.post(path, body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await eventCount()).toBe(before);
    return res.body;
  }

  describe('master data', () => {
    it('creates a warehouse, zones, locations, products and partners, each with its event', async () => {
      const w = await newWarehouse(sys, 1);
      expect(names(await eventsOf(sys, w))).toEqual([
        'warehouse.created',
        'zone.created',
        'zone.created',
        'location.created',
        'location.created',
        'location.created',
        'location.created',
        'location.created',
      ]);
      const product = await sys.db.query(
        `SELECT name FROM event_store WHERE tenant_id = $1 AND name = 'product.created' AND payload->>'sku' = $2`,
        [sys.tenant, w.sku(1)],
      );
      expect(product.rowCount).toBe(1);
    });

    it('refuses a wrong GTIN check digit, a duplicate SKU or GTIN, and an unknown zone', async () => {
      const w = await newWarehouse(sys, 1);
      const good = w.products[w.sku(1)];
      const badCheck = good.slice(0, 12) + ((Number(good[12]) + 1) % 10);
      await expectRefused(
        '/products',
        { sku: `${w.wh}-X`, gtin: badCheck, name: 'x', unitOfMeasure: 'EA' },
        400,
        'PRODUCT.INVALID_GTIN',
        'gtin',
      );
      await expectRefused(
        '/products',
        { sku: w.sku(1), gtin: gtin(999_001), name: 'x', unitOfMeasure: 'EA' },
        409,
        'PRODUCT.EXISTS',
        'sku',
      );
      await expectRefused(
        '/products',
        { sku: `${w.wh}-Y`, gtin: good, name: 'x', unitOfMeasure: 'EA' },
        409,
        'PRODUCT.GTIN_TAKEN',
        'gtin',
      );
      await expectRefused(
        `/warehouses/${w.wh}/locations`,
        { code: 'Z-01', zoneCode: 'NOPE' },
        404,
        'ZONE.UNKNOWN',
        'zoneCode',
      );
      await expectRefused(
        '/products',
        { sku: 'lower case!', gtin: '123', name: '', unitOfMeasure: 'BOX' },
        400,
        'REQUEST.INVALID',
        'unitOfMeasure',
      );
    });

    it('refuses an unknown time zone and stock levels that contradict each other; an empty change records nothing', async () => {
      await expectRefused(
        '/warehouses',
        { code: 'WH-TZ', name: 'x', timeZone: 'Mars/Olympus' },
        400,
        'REQUEST.INVALID',
        'timeZone',
      );
      const w = await newWarehouse(sys, 1);
      await expectRefused(
        '/products',
        { sku: `${w.wh}-LVL`, gtin: gtin(777_001), name: 'x', unitOfMeasure: 'EA', reorderPoint: 10, maxLevel: 5 },
        400,
        'PRODUCT.LEVELS',
        'maxLevel',
      );
      const patch = (body: unknown) =>
        fetch(`${sys.url}/products/${w.sku(1)}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${sys.tokens.admin}` },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: await r.json() }));
      const before = await eventCount();
      const empty = await patch({});
      expect(empty.status).toBe(200);
      expect(empty.body).toMatchObject({ sku: w.sku(1), reorderPoint: 5 });
      const contradicting = await patch({ maxLevel: 1 });
      expect(contradicting.status).toBe(400);
      expect(contradicting.body).toMatchObject({ code: 'PRODUCT.LEVELS', errors: [{ field: 'maxLevel' }] });
      expect(await eventCount()).toBe(before);
      expect((await patch({ maxLevel: 50 })).body).toMatchObject({ sku: w.sku(1), reorderPoint: 5, maxLevel: 50 });
    });

    it('updates and discontinues a product; a discontinued product cannot be received', async () => {
      const w = await newWarehouse(sys, 1);
      const updated = await sys.post(`/products/${w.sku(1)}/discontinue`, { reason: 'end of line' });
      expect(updated.status).toBe(200);
      await expectRefused(
        `/warehouses/${w.wh}/receipts`,
        { barcode: w.sku(1), locationCode: 'DOCK-1', quantity: 1 },
        409,
        'PRODUCT.DISCONTINUED',
        'barcode',
      );
      // Accepted means in the outbox or already stored (the worker may not have stored it yet).
      const events = await sys.db.query(
        `SELECT id FROM event_outbox
         WHERE envelope->>'tenantId' = $1 AND envelope->>'name' = 'product.discontinued'
           AND envelope->'payload'->>'sku' = $2
         UNION
         SELECT id FROM event_store WHERE tenant_id = $1 AND name = 'product.discontinued' AND payload->>'sku' = $2`,
        [sys.tenant, w.sku(1)],
      );
      expect(events.rowCount).toBe(1);
    });
  });

  describe('inbound', () => {
    it('answers ten scanners creating one ASN number at once with one 201 and nine 409s naming the field', async () => {
      const w = await newWarehouse(sys, 1);
      const body = { asnNumber: 'ASN-RACE', supplierCode: w.supplier, lines: [{ barcode: w.sku(1), quantity: 1 }] };
      const results = await Promise.all(Array.from({ length: 10 }, () => sys.post(`/warehouses/${w.wh}/asns`, body)));
      expect(results.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
      for (const r of results.filter((x) => x.status === 409)) {
        expect(r.body).toMatchObject({ code: 'ASN.EXISTS', errors: [{ field: 'asnNumber' }] });
      }
      const events = await sys.db.query(
        `SELECT count(DISTINCT id)::int AS n
         FROM (
           SELECT id FROM event_outbox
           WHERE envelope->>'tenantId' = $1 AND envelope->>'name' = 'asn.created'
             AND envelope->'payload'->>'asnNumber' = 'ASN-RACE'
           UNION ALL
           SELECT id FROM event_store
           WHERE tenant_id = $1 AND name = 'asn.created' AND payload->>'asnNumber' = 'ASN-RACE'
         ) e`,
        [sys.tenant],
      );
      expect(events.rows[0].n).toBe(1);
    });

    it('receives against an ASN, reports over, damaged and short lines, and puts away', async () => {
      const w = await newWarehouse(sys, 2);
      const asn = await sys.post(`/warehouses/${w.wh}/asns`, {
        asnNumber: 'ASN-1',
        supplierCode: w.supplier,
        lines: [
          { barcode: w.products[w.sku(1)], quantity: 10 },
          { barcode: w.sku(2), quantity: 5 },
        ],
      });
      expect(asn.status, JSON.stringify(asn.body)).toBe(201);
      // GTIN scan, 12 good of 10 expected → over.
      expect(
        (
          await sys.post(`/warehouses/${w.wh}/receipts`, {
            asnNumber: 'ASN-1',
            barcode: w.products[w.sku(1)],
            locationCode: 'DOCK-1',
            quantity: 12,
          })
        ).status,
      ).toBe(201);
      // SKU scan, 2 good + 1 damaged of 5 expected → damaged now, short at close.
      expect(
        (
          await sys.post(`/warehouses/${w.wh}/receipts`, {
            asnNumber: 'ASN-1',
            barcode: w.sku(2),
            locationCode: 'DOCK-1',
            quantity: 2,
            damaged: 1,
          })
        ).status,
      ).toBe(201);
      const closed = await sys.post(`/warehouses/${w.wh}/asns/ASN-1/close`, {});
      expect(closed.body).toEqual({ asnNumber: 'ASN-1', shortLines: 1 });
      await expectRefused(
        `/warehouses/${w.wh}/receipts`,
        { asnNumber: 'ASN-1', barcode: w.sku(2), locationCode: 'DOCK-1', quantity: 1 },
        409,
        'ASN.CLOSED',
        'asnNumber',
      );

      const putaway = await sys.post(`/warehouses/${w.wh}/putaways`, {
        barcode: w.sku(1),
        fromLocation: 'DOCK-1',
        toLocation: 'A-01',
        quantity: 12,
      });
      expect(putaway.status).toBe(201);
      const stock = await stockOf(sys, w);
      expect(stock.map((s) => [s.sku, s.locationCode, s.onHand])).toEqual([
        [w.sku(1), 'A-01', 12],
        [w.sku(2), 'DOCK-1', 2],
      ]);

      const discrepancies = (await eventsOf(sys, w, ['receipt.discrepancy_found'])).map((e) => [
        e.payload.sku,
        e.payload.kind,
      ]);
      expect(discrepancies).toEqual([
        [w.sku(1), 'over'],
        [w.sku(2), 'damaged'],
        [w.sku(2), 'short'],
      ]);
      expect(
        names(await eventsOf(sys, w, ['asn.created', 'goods.received', 'asn.closed', 'putaway.completed'])),
      ).toEqual(['asn.created', 'goods.received', 'goods.received', 'asn.closed', 'putaway.completed']);
    });

    it('warns about goods expiring soon and a dock over capacity', async () => {
      const w = await newWarehouse(sys, 1);
      const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
      expect(
        (
          await sys.post(`/warehouses/${w.wh}/receipts`, {
            barcode: w.sku(1),
            locationCode: 'DOCK-1',
            quantity: 1001,
            lot: 'L1',
            expiresOn: soon,
          })
        ).status,
      ).toBe(201);
      const events = await eventsOf(sys, w, ['inventory.expiring_soon', 'location.capacity_exceeded']);
      expect(events.map((e) => e.name).sort()).toEqual(['inventory.expiring_soon', 'location.capacity_exceeded']);
      expect(events.find((e) => e.name === 'location.capacity_exceeded')!.payload).toMatchObject({
        capacity: 1000,
        onHand: 1001,
      });
    });

    it('puts stock on quality hold and releases it; held units are not available', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 10);
      expect(
        (
          await sys.post(`/warehouses/${w.wh}/holds`, {
            barcode: w.sku(1),
            locationCode: 'A-01',
            quantity: 4,
            reason: 'wet boxes',
          })
        ).status,
      ).toBe(201);
      expect((await stockOf(sys, w))[0]).toMatchObject({ onHand: 10, held: 4, available: 6 });
      await expectRefused(
        `/warehouses/${w.wh}/moves`,
        { barcode: w.sku(1), fromLocation: 'A-01', toLocation: 'A-02', quantity: 7 },
        409,
        'INVENTORY.INSUFFICIENT_STOCK',
        'quantity',
      );
      expect(
        (await sys.post(`/warehouses/${w.wh}/holds/release`, { barcode: w.sku(1), locationCode: 'A-01', quantity: 4 }))
          .status,
      ).toBe(200);
      expect((await stockOf(sys, w))[0]).toMatchObject({ held: 0, available: 10 });
    });
  });

  describe('inventory', () => {
    it('adjusts stock with a reason, refusing to go below what is available', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 3);
      const res = await sys.post(`/warehouses/${w.wh}/adjustments`, {
        barcode: w.products[w.sku(1)],
        locationCode: 'A-01',
        quantityDelta: -2,
        reasonCode: 'damaged',
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ sku: w.sku(1), onHand: 1 });
      await expectRefused(
        `/warehouses/${w.wh}/adjustments`,
        { barcode: w.sku(1), locationCode: 'A-01', quantityDelta: -2, reasonCode: 'lost' },
        409,
        'INVENTORY.INSUFFICIENT_STOCK',
        'quantityDelta',
      );
      expect((await stockOf(sys, w))[0].onHand).toBe(1);
    });

    it('refuses unknown barcodes and locations, bad quantities, and blocked locations', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 5);
      const base = `/warehouses/${w.wh}`;
      await expectRefused(
        `${base}/adjustments`,
        { barcode: 'NOPE-1', locationCode: 'A-01', quantityDelta: 1, reasonCode: 'found' },
        404,
        'PRODUCT.UNKNOWN_BARCODE',
        'barcode',
      );
      await expectRefused(
        `${base}/adjustments`,
        { barcode: '4006381333932', locationCode: 'A-01', quantityDelta: 1, reasonCode: 'found' },
        400,
        'PRODUCT.INVALID_GTIN',
        'barcode',
      );
      await expectRefused(
        `${base}/adjustments`,
        { barcode: w.sku(1), locationCode: 'Z-99', quantityDelta: 1, reasonCode: 'found' },
        404,
        'LOCATION.UNKNOWN',
        'locationCode',
      );
      await expectRefused(
        `${base}/adjustments`,
        { barcode: w.sku(1), locationCode: 'A-01', quantityDelta: 0, reasonCode: 'found' },
        400,
        'REQUEST.INVALID',
        'quantityDelta',
      );
      await expectRefused(
        `${base}/moves`,
        { barcode: w.sku(1), fromLocation: 'A-01', toLocation: 'A-02', quantity: -3 },
        400,
        'REQUEST.INVALID',
        'quantity',
      );
      await expectRefused(
        `/warehouses/NOPE/moves`,
        { barcode: w.sku(1), fromLocation: 'A-01', toLocation: 'A-02', quantity: 1 },
        404,
        'WAREHOUSE.UNKNOWN',
        'warehouseId',
      );
      expect((await sys.post(`${base}/locations/A-01/block`, { reason: 'rack damaged' })).status).toBe(200);
      await expectRefused(
        `${base}/moves`,
        { barcode: w.sku(1), fromLocation: 'A-01', toLocation: 'A-02', quantity: 1 },
        409,
        'LOCATION.BLOCKED',
        'fromLocation',
      );
      expect((await stockOf(sys, w))[0]).toMatchObject({ locationCode: 'A-01', onHand: 5 });
    });

    it('refuses a move that does not fit the target location', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 80);
      await stockUp(sys, w, w.sku(1), 'A-02', 30);
      await expectRefused(
        `/warehouses/${w.wh}/moves`,
        { barcode: w.sku(1), fromLocation: 'A-02', toLocation: 'A-01', quantity: 21 },
        409,
        'LOCATION.CAPACITY_EXCEEDED',
        'toLocation',
      );
      expect(
        (
          await sys.post(`/warehouses/${w.wh}/moves`, {
            barcode: w.sku(1),
            fromLocation: 'A-02',
            toLocation: 'A-01',
            quantity: 20,
          })
        ).status,
      ).toBe(201);
    });

    it('records a cycle count and sets stock to the count when it differs', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 10);
      expect(
        (await sys.post(`/warehouses/${w.wh}/counts`, { barcode: w.sku(1), locationCode: 'A-01', counted: 10 })).body,
      ).toEqual({ sku: w.sku(1), expected: 10, counted: 10 });
      expect(
        (await sys.post(`/warehouses/${w.wh}/counts`, { barcode: w.sku(1), locationCode: 'A-01', counted: 8 })).status,
      ).toBe(201);
      expect((await stockOf(sys, w))[0].onHand).toBe(8);
      const events = await eventsOf(sys, w, ['inventory.counted', 'inventory.discrepancy_found']);
      expect(events.map((e) => [e.name, e.payload.counted])).toEqual([
        ['inventory.counted', 10],
        ['inventory.counted', 8],
        ['inventory.discrepancy_found', 8],
      ]);
      expect(events[2].payload.quantityDelta).toBe(-2);
    });

    it('announces low stock once when crossing the reorder point, and out of stock at zero', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 8);
      for (const delta of [-2, -1, -1, -4]) {
        expect(
          (
            await sys.post(`/warehouses/${w.wh}/adjustments`, {
              barcode: w.sku(1),
              locationCode: 'A-01',
              quantityDelta: delta,
              reasonCode: 'lost',
            })
          ).status,
        ).toBe(201);
      }
      const alerts = await eventsOf(sys, w, ['inventory.low_stock', 'inventory.out_of_stock']);
      expect(alerts.map((e) => [e.name, e.payload.available])).toEqual([
        ['inventory.low_stock', 5],
        ['inventory.out_of_stock', undefined],
      ]);
    });

    it('never lets racing scanners take the last units twice', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 5);
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          sys.post(`/warehouses/${w.wh}/adjustments`, {
            barcode: w.sku(1),
            locationCode: 'A-01',
            quantityDelta: -1,
            reasonCode: 'lost',
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 201);
      expect(ok).toHaveLength(5);
      expect(
        results
          .filter((r) => r.status !== 201)
          .every((r) => r.status === 409 && r.body.code === 'INVENTORY.INSUFFICIENT_STOCK'),
      ).toBe(true);
      expect(await stockOf(sys, w, `?sku=${w.sku(1)}`)).toEqual([]);
      const [row] = (
        await sys.db.query(`SELECT on_hand FROM stock WHERE tenant_id = $1 AND warehouse_code = $2`, [sys.tenant, w.wh])
      ).rows;
      expect(row.on_hand).toBe(0);
      expect(await eventsOf(sys, w, ['inventory.adjusted'])).toHaveLength(5);
    });
  });

  describe('outbound', () => {
    it('allocates earliest expiry first, picks, packs and ships an order', async () => {
      const w = await newWarehouse(sys, 1);
      const later = new Date(Date.now() + 200 * 86_400_000).toISOString().slice(0, 10);
      const sooner = new Date(Date.now() + 100 * 86_400_000).toISOString().slice(0, 10);
      await stockUp(sys, w, w.sku(1), 'A-01', 6, { lot: 'LATE', expiresOn: later });
      await stockUp(sys, w, w.sku(1), 'A-02', 3, { lot: 'SOON', expiresOn: sooner });
      expect(
        (
          await sys.post(`/warehouses/${w.wh}/orders`, {
            orderNumber: 'SO-1',
            customerCode: w.customer,
            lines: [{ barcode: w.sku(1), quantity: 5 }],
          })
        ).status,
      ).toBe(201);
      await expectRefused(
        `/warehouses/${w.wh}/orders/SO-1/ship`,
        { carrierCode: w.carrier, trackingNumber: 'T1' },
        409,
        'ORDER.NOT_PACKED',
        'orderNumber',
      );
      const allocated = await sys.post(`/warehouses/${w.wh}/orders/SO-1/allocate`, {});
      expect(allocated.status).toBe(200);
      const tasks = allocated.body.pickTasks as {
        taskId: string;
        locationCode: string;
        lot: string;
        quantity: number;
      }[];
      expect(tasks.map((t) => [t.locationCode, t.lot, t.quantity])).toEqual([
        ['A-02', 'SOON', 3],
        ['A-01', 'LATE', 2],
      ]);
      expect((await stockOf(sys, w)).map((s) => s.reserved)).toEqual([2, 3]);

      await expectRefused(
        `/warehouses/${w.wh}/picks/${tasks[0].taskId}`,
        { locationCode: 'A-01', barcode: w.sku(1), quantity: 3 },
        409,
        'PICK.WRONG_LOCATION',
        'locationCode',
      );
      await expectRefused(
        `/warehouses/${w.wh}/picks/${tasks[0].taskId}`,
        { locationCode: 'A-02', barcode: w.sku(1), quantity: 4 },
        409,
        'PICK.OVER_PICK',
        'quantity',
      );
      for (const t of tasks)
        expect(
          (
            await sys.post(`/warehouses/${w.wh}/picks/${t.taskId}`, {
              locationCode: t.locationCode,
              barcode: w.products[w.sku(1)],
              quantity: t.quantity,
            })
          ).status,
        ).toBe(200);
      expect(
        (await sys.post(`/warehouses/${w.wh}/orders/SO-1/pack`, { cartons: [{ cartonId: 'C1', weightKg: 1.5 }] }))
          .status,
      ).toBe(200);
      const shipped = await sys.post(`/warehouses/${w.wh}/orders/SO-1/ship`, {
        carrierCode: w.carrier,
        trackingNumber: 'JD0001',
      });
      expect(shipped.status).toBe(200);
      expect((await sys.get(`/warehouses/${w.wh}/orders/SO-1`)).body).toMatchObject({
        status: 'shipped',
        trackingNumber: 'JD0001',
        lines: [{ quantity: 5, picked: 5 }],
      });
      expect((await stockOf(sys, w)).map((s) => [s.locationCode, s.onHand, s.reserved])).toEqual([['A-01', 4, 0]]);
      expect(
        names(
          await eventsOf(sys, w, [
            'order.created',
            'order.allocated',
            'pick.assigned',
            'pick.completed',
            'order.packed',
            'shipment.dispatched',
          ]),
        ),
      ).toEqual([
        'order.created',
        'pick.assigned',
        'pick.assigned',
        'order.allocated',
        'pick.completed',
        'pick.completed',
        'order.packed',
        'shipment.dispatched',
      ]);
    });

    it('records a short pick and releases the rest of the reservation', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 10);
      await sys.post(`/warehouses/${w.wh}/orders`, {
        orderNumber: 'SO-2',
        customerCode: w.customer,
        lines: [{ barcode: w.sku(1), quantity: 4 }],
      });
      const [task] = (await sys.post(`/warehouses/${w.wh}/orders/SO-2/allocate`, {})).body.pickTasks;
      const res = await sys.post(`/warehouses/${w.wh}/picks/${task.taskId}`, {
        locationCode: 'A-01',
        barcode: w.sku(1),
        quantity: 1,
      });
      expect(res.body).toMatchObject({ picked: 1, status: 'short' });
      expect((await stockOf(sys, w))[0]).toMatchObject({ onHand: 9, reserved: 0 });
      const events = await eventsOf(sys, w, ['pick.short', 'inventory.released']);
      expect(events.map((e) => [e.name, e.payload.picked ?? e.payload.quantity])).toEqual([
        ['pick.short', 1],
        ['inventory.released', 3],
      ]);
      await expectRefused(
        `/warehouses/${w.wh}/picks/${task.taskId}`,
        { locationCode: 'A-01', barcode: w.sku(1), quantity: 1 },
        409,
        'PICK.NOT_OPEN',
        'taskId',
      );
    });

    it('refuses to pack, and so to ship, an order of which nothing was picked', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 10);
      await sys.post(`/warehouses/${w.wh}/orders`, {
        orderNumber: 'SO-NONE',
        customerCode: w.customer,
        lines: [{ barcode: w.sku(1), quantity: 4 }],
      });
      const [task] = (await sys.post(`/warehouses/${w.wh}/orders/SO-NONE/allocate`, {})).body.pickTasks;
      const short = await sys.post(`/warehouses/${w.wh}/picks/${task.taskId}`, {
        locationCode: 'A-01',
        barcode: w.sku(1),
        quantity: 0,
      });
      expect(short.body).toMatchObject({ picked: 0, status: 'short' });
      await expectRefused(
        `/warehouses/${w.wh}/orders/SO-NONE/pack`,
        { cartons: [{ cartonId: 'C-1' }] },
        409,
        'ORDER.NOTHING_PICKED',
        'orderNumber',
      );
      await expectRefused(
        `/warehouses/${w.wh}/orders/SO-NONE/ship`,
        { carrierCode: w.carrier, trackingNumber: 'JD0' },
        409,
        'ORDER.NOT_PACKED',
        'orderNumber',
      );
    });

    it('takes a carton weight only at the precision it is stored with (whole grams), naming the carton', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 10);
      await sys.post(`/warehouses/${w.wh}/orders`, {
        orderNumber: 'SO-KG',
        customerCode: w.customer,
        lines: [{ barcode: w.sku(1), quantity: 1 }],
      });
      const [task] = (await sys.post(`/warehouses/${w.wh}/orders/SO-KG/allocate`, {})).body.pickTasks;
      await sys.post(`/warehouses/${w.wh}/picks/${task.taskId}`, {
        locationCode: 'A-01',
        barcode: w.sku(1),
        quantity: 1,
      });
      const pack = `/warehouses/${w.wh}/orders/SO-KG/pack`;
      // 0.0001 kg would be stored as 0.000 (refused by the column), 1.2345 as 1.235; on 1e-7 maxDecimalPlaces throws.
      for (const weightKg of [0.0001, 1e-7, 1.2345, 0, -1, 10_000.001, 1e21]) {
        const body = await expectRefused(
          pack,
          {
            cartons: [
              { cartonId: 'C-1', weightKg: 1 },
              { cartonId: 'C-2', weightKg },
            ],
          },
          400,
          'REQUEST.INVALID',
          'cartons.1.weightKg',
        );
        expect(
          body.errors.map((e: { field: string }) => e.field),
          String(weightKg),
        ).not.toContain('cartons.0.weightKg');
      }
      expect((await sys.get(`/warehouses/${w.wh}/orders/SO-KG`)).body.status).toBe('picked');
      const res = await sys.post(pack, {
        cartons: [
          { cartonId: 'C-1', weightKg: 0.001 },
          { cartonId: 'C-2', weightKg: 1.001 },
          { cartonId: 'C-3', weightKg: 10_000 },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const { rows } = await sys.db.query(
        `SELECT weight_kg::text AS kg FROM cartons WHERE tenant_id = $1 AND warehouse_code = $2 ORDER BY carton_id`,
        [sys.tenant, w.wh],
      );
      expect(rows.map((r) => r.kg)).toEqual(['0.001', '1.001', '10000.000']);
    });

    it('refuses to allocate more than is available and changes nothing', async () => {
      const w = await newWarehouse(sys, 2);
      await stockUp(sys, w, w.sku(1), 'A-01', 10);
      await stockUp(sys, w, w.sku(2), 'A-02', 1);
      await sys.post(`/warehouses/${w.wh}/orders`, {
        orderNumber: 'SO-3',
        customerCode: w.customer,
        lines: [
          { barcode: w.sku(1), quantity: 4 },
          { barcode: w.sku(2), quantity: 2 },
        ],
      });
      await expectRefused(
        `/warehouses/${w.wh}/orders/SO-3/allocate`,
        {},
        409,
        'INVENTORY.INSUFFICIENT_STOCK',
        'lines[1].quantity',
      );
      expect((await stockOf(sys, w)).map((s) => s.reserved)).toEqual([0, 0]);
      expect((await sys.get(`/warehouses/${w.wh}/orders/SO-3`)).body).toMatchObject({
        status: 'created',
        pickTasks: [],
      });
    });

    it('cancels an allocated order, releasing its stock', async () => {
      const w = await newWarehouse(sys, 1);
      await stockUp(sys, w, w.sku(1), 'A-01', 10);
      await sys.post(`/warehouses/${w.wh}/orders`, {
        orderNumber: 'SO-4',
        customerCode: w.customer,
        lines: [{ barcode: w.sku(1), quantity: 7 }],
      });
      await sys.post(`/warehouses/${w.wh}/orders/SO-4/allocate`, {});
      expect(
        (await sys.post(`/warehouses/${w.wh}/orders/SO-4/cancel`, { reason: 'customer changed mind' })).body,
      ).toEqual({ orderNumber: 'SO-4', released: 1 });
      expect((await stockOf(sys, w))[0]).toMatchObject({ reserved: 0, available: 10 });
      await expectRefused(
        `/warehouses/${w.wh}/orders/SO-4/cancel`,
        { reason: 'again' },
        409,
        'ORDER.NOT_CANCELLABLE',
        'orderNumber',
      );
    });
  });

  describe('Idempotency-Key on scanner operations', () => {
    it('applies a resent receipt once and answers the resend with the first answer', async () => {
      const w = await newWarehouse(sys, 1);
      const scan = { barcode: w.sku(1), locationCode: 'DOCK-1', quantity: 3 };
      const headers = { 'idempotency-key': `${w.wh}-scan-1` };
      const results = await Promise.all([1, 2, 3].map(() => sys.post(`/warehouses/${w.wh}/receipts`, scan, headers)));
      expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
      expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(2);
      for (const r of results) expect(r.body).toEqual(results[0].body);
      expect((await stockOf(sys, w))[0].onHand).toBe(3);
      expect(await eventsOf(sys, w, ['goods.received'])).toHaveLength(1);
    });
  });
});
