import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEvents, startSystem, TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

describe('POST /events/batch', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.close();
  });

  /** A fresh tenant per test: its counts belong to this test alone. */
  const tenant = async () => {
    const t = await sys.newTenant();
    const post = (body: unknown) => sys.post('/events/batch', body, { authorization: `Bearer ${t.tokens.admin}` });
    const postText = (text: string) =>
      fetch(`${sys.url}/events/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.tokens.admin}`, 'content-type': 'application/json' },
        body: text,
      });
    /** The tenant's accepted events, wherever they are (outbox, store, or briefly both). */
    const ids = async () =>
      (
        await sys.db.query(
          `SELECT id::text FROM event_outbox WHERE envelope->>'tenantId' = $1
           UNION SELECT id::text FROM event_store WHERE tenant_id = $1`,
          [t.tenant],
        )
      ).rows.map((r: { id: string }) => r.id);
    const stored = async () =>
      (
        await sys.db.query(
          `SELECT id::text, aggregate_id, stream_position FROM event_store WHERE tenant_id = $1 ORDER BY stream_position`,
          [t.tenant],
        )
      ).rows as { id: string; aggregate_id: string; stream_position: string }[];
    const keys = async () =>
      (await sys.db.query(`SELECT key FROM idempotency_keys WHERE tenant_id = $1 ORDER BY key`, [t.tenant])).rows.map(
        (r: { key: string }) => r.key,
      );
    return { ...t, post, postText, ids, stored, keys, accepted: () => acceptedEvents(sys.db, t.tenant) };
  };

  it('answers every item on its own: valid ones stored once, bad ones refused naming their field, changing nothing', async () => {
    const t = await tenant();
    const key = `k-${randomUUID()}`;
    const items = [
      tracking({ orderNumber: 'SO-B1' }),
      tracking({ orderNumber: 'SO-B2', trackingNumber: '' }),
      { ...tracking({ orderNumber: 'SO-B3' }), idempotencyKey: key },
      { ...tracking({ orderNumber: 'SO-B3' }), idempotencyKey: key },
      { ...tracking({ orderNumber: 'SO-B4' }), idempotencyKey: key },
      { name: 'inventory.adjusted', payload: { warehouseId: 'WH1' } },
      'not an item',
      tracking({ warehouseId: 'WH-NONE', orderNumber: 'SO-B5' }),
      tracking({ orderNumber: 'SO-B6', detail: 'a\u0000b' }),
      { ...tracking({ orderNumber: 'SO-B7' }), bogus: 1 },
      tracking({ orderNumber: 'SO-B8', toString: 1 }),
      { ...tracking({ orderNumber: 'SO-B9' }), occurredAt: '2026-02-30T00:00:00Z' },
      tracking({ orderNumber: 'SO-B1', status: 'delivered' }),
    ];
    const res = await t.post({ items });
    expect(res.status).toBe(200);
    const r = res.body.results;
    expect(r).toHaveLength(items.length);
    const refusal = (i: number, code: string, field: string) =>
      expect(r[i], `item ${i}`).toMatchObject({
        status: 'refused',
        error: {
          code,
          message: expect.any(String),
          fields: expect.arrayContaining([expect.objectContaining({ field })]),
        },
      });
    expect(r[0]).toEqual({ status: 'accepted', id: expect.any(String) });
    refusal(1, 'EVENTS.INVALID_PAYLOAD', 'items[1].payload.trackingNumber');
    expect(r[2]).toEqual({ status: 'accepted', id: expect.any(String) });
    // The same key and body again in the same batch: the first item's event, not a second one.
    expect(r[3]).toEqual({ status: 'replayed', id: r[2].id });
    refusal(4, 'IDEMPOTENCY.KEY_REUSED', 'items[4].idempotencyKey');
    refusal(5, 'EVENTS.NOT_PUBLISHABLE', 'items[5].name');
    refusal(6, 'REQUEST.INVALID', 'items[6]');
    refusal(7, 'WAREHOUSE.UNKNOWN', 'items[7].payload.warehouseId');
    refusal(8, 'REQUEST.INVALID_TEXT', 'items[8].payload.detail');
    refusal(9, 'REQUEST.INVALID', 'items[9].bogus');
    refusal(10, 'EVENTS.INVALID_PAYLOAD', 'items[10].payload.toString');
    refusal(11, 'REQUEST.INVALID', 'items[11].occurredAt');
    expect(r[12]).toEqual({ status: 'accepted', id: expect.any(String) });
    const acceptedIds = [r[0].id, r[2].id, r[12].id];
    // Durable before the answer: already in the outbox (or the store), each once, and nothing else.
    expect((await t.ids()).sort()).toEqual([...acceptedIds].sort());
    expect(await t.keys()).toEqual([key]);
    const stored = await waitFor('the batch to be stored', async () => {
      const rows = await t.stored();
      return rows.length === 3 ? rows : undefined;
    });
    expect(stored.map((s) => s.id).sort()).toEqual([...acceptedIds].sort());
    // Two events of one order in one batch: consecutive stream positions, in item order.
    const sb1 = stored.filter((s) => s.aggregate_id === 'WH1/SO-B1');
    expect(sb1.map((s) => [s.id, Number(s.stream_position)])).toEqual([
      [r[0].id, 1],
      [r[12].id, 2],
    ]);
  });

  it('answers the same batch sent twice with `replayed` the second time, and stores nothing twice', async () => {
    const t = await tenant();
    const items = ['SO-R1', 'SO-R2', 'SO-R1'].map((order, i) => ({
      ...tracking({ orderNumber: order, trackingNumber: `T-${i}` }),
      idempotencyKey: `resend-${i}`,
    }));
    const first = await t.post({ items });
    expect(first.status).toBe(200);
    expect(first.body.results.map((x: { status: string }) => x.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const second = await t.post({ items });
    expect(second.status).toBe(200);
    expect(second.body.results).toEqual(
      first.body.results.map((x: { id: string }) => ({ status: 'replayed', id: x.id })),
    );
    expect(await t.accepted()).toBe(3);
    await waitFor('the batch to be stored', async () => (await t.stored()).length === 3);
    // Sent a third time after the worker moved them from the outbox to the store: still replays.
    const third = await t.post({ items });
    expect(third.body.results.map((x: { status: string }) => x.status)).toEqual(['replayed', 'replayed', 'replayed']);
    expect((await t.stored()).map((s) => Number(s.stream_position)).sort()).toEqual([1, 1, 2]);
  });

  it('refuses a malformed batch as a whole with 400 (413 over its size limit), and records nothing', async () => {
    const t = await tenant();
    const tooMany = await t.post({
      items: Array.from({ length: 501 }, (_, i) => tracking({ orderNumber: `SO-${i}` })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: 'items' }] });
    for (const body of [{ items: {} }, { items: [] }, {}, [tracking()], { items: [tracking()], extra: 1 }]) {
      const res = await t.post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors.length, JSON.stringify(body)).toBeGreaterThan(0);
    }
    const huge = await t.postText(
      JSON.stringify({ items: [tracking({ detail: 'x'.repeat(200) })], pad: 'x'.repeat(1024 * 1024) }),
    );
    expect(huge.status).toBe(413);
    expect(await t.accepted()).toBe(0);
  });

  it('is documented in the OpenAPI document, with its items and per-item results', async () => {
    const doc = await sys.get('/docs/openapi.json');
    expect(doc.status).toBe(200);
    const route = doc.body.paths['/events/batch'].post;
    expect(route.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/PublishBatchResultDto',
    });
    const { schemas } = doc.body.components;
    expect(schemas.PublishBatchDto.properties.items).toMatchObject({ type: 'array', maxItems: 500 });
    expect(Object.keys(schemas.PublishBatchItemDto.properties)).toEqual(
      expect.arrayContaining(['name', 'payload', 'idempotencyKey']),
    );
    expect(schemas.BatchItemResultDto.properties.status.enum).toEqual(['accepted', 'replayed', 'refused']);
  });

  it('takes 500 events in one request, over the 64 kB limit of the other routes', async () => {
    const t = await tenant();
    const items = Array.from({ length: 500 }, (_, i) =>
      tracking({ orderNumber: `SO-BIG-${i % 50}`, detail: `line ${i} `.padEnd(150, '.') }),
    );
    const body = { items };
    expect(JSON.stringify(body).length).toBeGreaterThan(64 * 1024);
    const res = await t.post(body);
    expect(res.status).toBe(200);
    expect(res.body.results.every((x: { status: string }) => x.status === 'accepted')).toBe(true);
    expect(await t.accepted()).toBe(500);
    // The other routes keep their limit.
    const single = await fetch(`${sys.url}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...tracking(), pad: 'x'.repeat(70_000) }),
    });
    expect(single.status).toBe(413);
  });
});
