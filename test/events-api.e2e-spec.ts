import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, inZone } from './support/dates.js';
import { acceptedEvents, startSystem, TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

describe('POST /events → store → broadcast (Redis profile)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.close();
  });

  const storedCount = async (tenant = sys.tenant) =>
    (await sys.db.query('SELECT count(*)::int AS n FROM event_store WHERE tenant_id = $1', [tenant])).rows[0]
      .n as number;
  /** Accepted events of the tenant, wherever they are: outbox, store, or briefly both. */
  const acceptedCount = () => acceptedEvents(sys.db, sys.tenant);
  const outboxCount = async (tenant = sys.tenant) =>
    (await sys.db.query(`SELECT count(*)::int AS n FROM event_outbox WHERE envelope->>'tenantId' = $1`, [tenant]))
      .rows[0].n as number;

  it('accepts an event with 202, stores it once and broadcasts it to its warehouse room', async () => {
    const { received } = await sys.socket({ warehouseId: 'WH1' });
    const res = await sys.post('/events', tracking({ orderNumber: 'SO-BCAST' }));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      name: 'carrier.tracking_updated',
      version: 1,
      aggregateType: 'order',
      aggregateId: 'WH1/SO-BCAST',
      streamPosition: 1,
    });
    expect(res.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);

    const event = await waitFor('the broadcast', () => received.find((e) => e.id === res.body.id));
    expect(event).toMatchObject({
      tenantId: sys.tenant,
      warehouseId: 'WH1',
      source: 'api',
      payload: { orderNumber: 'SO-BCAST', status: 'in_transit' },
    });
    expect(event.correlationId).toBe(event.id);

    const stored = await sys.get(`/events/${res.body.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ id: res.body.id, streamPosition: 1, payload: { orderNumber: 'SO-BCAST' } });
    await waitFor('the outbox to drain', async () => (await outboxCount()) === 0);
  });

  it('does not send a warehouse’s events to a socket subscribed to another warehouse or tenant', async () => {
    const other = await sys.socket({ warehouseId: 'WH2' });
    const stranger = await sys.newTenant();
    const otherTenant = await sys.socket({ warehouseId: 'WH1' }, stranger.tokens.admin);
    const mine = await sys.socket({ warehouseId: 'WH1', names: ['carrier.tracking_updated'] });
    const res = await sys.post('/events', tracking({ orderNumber: 'SO-ROOMS' }));
    await waitFor('the broadcast to WH1', () => mine.received.some((e) => e.id === res.body.id));
    // A later event to WH2 arriving proves the WH2 socket was live while the WH1 event went out.
    const wh2 = await sys.post('/events', tracking({ warehouseId: 'WH2', orderNumber: 'SO-ROOMS' }));
    await waitFor('the broadcast to WH2', () => other.received.some((e) => e.id === wh2.body.id));
    expect(other.received.map((e) => e.id)).not.toContain(res.body.id);
    expect(otherTenant.received).toEqual([]);
  });

  it('sends events stored together to each socket once, only its own warehouse’s and names’, stream by stream in order', async () => {
    const wh1 = await sys.socket({ warehouseId: 'WH1' });
    const wh2 = await sys.socket({ warehouseId: 'WH2' });
    const wh1Tracking = await sys.socket({ warehouseId: 'WH1', names: ['carrier.tracking_updated'] });
    const wh1Adjusted = await sys.socket({ warehouseId: 'WH1', names: ['inventory.adjusted'] });
    // Interleaved warehouses and three orders each, in one batch: stored (and broadcast) together.
    const items = Array.from({ length: 40 }, (_, i) =>
      tracking({ warehouseId: i % 2 ? 'WH2' : 'WH1', orderNumber: `SO-TOGETHER-${i % 3}`, trackingNumber: `JT${i}` }),
    );
    const res = await sys.post('/events/batch', { items });
    expect(res.status).toBe(200);
    const ids: string[] = res.body.results.map((r: { status: string; id: string }) => r.id);
    const of = (warehouse: number) => ids.filter((_, i) => i % 2 === warehouse);
    const batchOn = (socket: { received: { id: string }[] }) => socket.received.filter((e) => ids.includes(e.id));
    const all = (socket: { received: { id: string }[] }, expected: string[]) =>
      new Set(batchOn(socket).map((e) => e.id)).size === expected.length;
    await waitFor('WH1’s events on the WH1 socket', () => all(wh1, of(0)));
    await waitFor('WH2’s events on the WH2 socket', () => all(wh2, of(1)));
    await waitFor('WH1’s events on the socket of their name', () => all(wh1Tracking, of(0)));
    // One more event after the batch: once it is in, nothing of the batch is still on its way.
    const last = await sys.post('/events', tracking({ orderNumber: 'SO-TOGETHER-LAST' }));
    await waitFor('the later event', () => wh1.received.some((e) => e.id === last.body.id));
    for (const [socket, expected] of [
      [wh1, of(0)],
      [wh2, of(1)],
      [wh1Tracking, of(0)],
    ] as const) {
      const got = batchOn(socket);
      expect(got.map((e) => e.id).sort()).toEqual([...expected].sort());
      // Each stream (order) in position order.
      const byStream = new Map<string, number[]>();
      for (const e of got as unknown as { aggregateId: string; streamPosition: number }[])
        byStream.set(e.aggregateId, [...(byStream.get(e.aggregateId) ?? []), e.streamPosition]);
      for (const positions of byStream.values()) expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
    expect(batchOn(wh1Adjusted)).toEqual([]);
  });

  it('rejects an unknown event name with 400 naming the field, and stores and queues nothing', async () => {
    const before = await storedCount();
    const accepted = await acceptedCount();
    const res = await sys.post('/events', { name: 'inventory.teleported', payload: { sku: 'X' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'EVENTS.UNKNOWN_TYPE', errors: [{ field: 'name' }] });
    expect(res.body.errors[0].reason).toContain('inventory.teleported');
    expect(await acceptedCount()).toBe(accepted);
    expect(await storedCount()).toBe(before);
  });

  it('rejects an unknown version with 400 naming the version', async () => {
    const res = await sys.post('/events', { ...tracking(), version: 7 });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'EVENTS.UNKNOWN_TYPE', errors: [{ field: 'version' }] });
  });

  it('rejects a payload that fails its schema with every bad field and its reason', async () => {
    const before = await storedCount();
    const accepted = await acceptedCount();
    const res = await sys.post('/events', tracking({ trackingNumber: '', status: 'lost-in-space', bogus: true }));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('EVENTS.INVALID_PAYLOAD');
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['payload.trackingNumber', 'payload.status', 'payload.bogus']));
    expect(await acceptedCount()).toBe(accepted);
    expect(await storedCount()).toBe(before);
    const streams = await sys.db.query('SELECT 1 FROM event_streams WHERE tenant_id = $1 AND aggregate_id = $2', [
      sys.tenant,
      'WH1/SO-1',
    ]);
    expect(streams.rowCount).toBe(0);
  });

  it('refuses an event of a warehouse the tenant does not have with 404 naming payload.warehouseId, recording nothing', async () => {
    const code = `WH-NEW-${Date.now().toString(36).toUpperCase()}`;
    // Another tenant has it, and has just published for it: still unknown in this tenant.
    const stranger = await sys.newTenant();
    const theirs = { authorization: `Bearer ${stranger.tokens.admin}` };
    expect((await sys.post('/warehouses', { code, name: 'Theirs' }, theirs)).status).toBe(201);
    expect((await sys.post('/events', tracking({ warehouseId: code }), theirs)).status).toBe(202);
    const accepted = await acceptedCount();
    const headers = { 'idempotency-key': `unknown-${code}` };
    const request = tracking({ warehouseId: code, orderNumber: 'SO-NOWHERE' });
    const res = await sys.post('/events', request, headers);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      code: 'WAREHOUSE.UNKNOWN',
      errors: [{ field: 'payload.warehouseId', reason: `no warehouse ${code} in this tenant` }],
    });
    expect(await acceptedCount()).toBe(accepted);
    const streams = await sys.db.query('SELECT 1 FROM event_streams WHERE tenant_id = $1 AND aggregate_id = $2', [
      sys.tenant,
      `${code}/SO-NOWHERE`,
    ]);
    expect(streams.rowCount).toBe(0);
    // Once the tenant has it, the same request is accepted at once: neither the refusal nor its key was kept.
    expect((await sys.post('/warehouses', { code, name: 'Mine' })).status).toBe(201);
    const again = await sys.post('/events', request, headers);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });

  it('refuses only the requests of an unknown warehouse among concurrent ones (one group commit)', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        sys.post('/events', tracking({ warehouseId: i % 3 ? 'WH1' : 'WH-NOWHERE', orderNumber: `SO-MIX-${i}` })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 30 }, (_, i) => (i % 3 ? 202 : 404)));
  });

  it('rejects an envelope field that is wrong or unknown', async () => {
    const res = await sys.post('/events', { ...tracking(), occurredAt: 'yesterday', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['occurredAt', 'extra']),
    );
  });

  it('refuses what Postgres could not store: partial dates and NUL characters', async () => {
    for (const occurredAt of ['2026-11', '2026', '2026-W48-3', '2026-11-25']) {
      const res = await sys.post('/events', { ...tracking(), occurredAt });
      expect(res.status, occurredAt).toBe(400);
      expect(res.body.errors[0].field).toBe('occurredAt');
    }
    const nul = await sys.post('/events', tracking({ detail: 'bad\u0000byte' }));
    expect(nul.status).toBe(400);
    expect(nul.body.errors[0]).toMatchObject({ field: 'payload.detail' });
    const offset = await sys.post('/events', {
      ...tracking({ orderNumber: 'SO-TZ' }),
      occurredAt: inZone(new Date(Date.now() - HOUR), '+02:00'),
    });
    expect(offset.status).toBe(202);
    expect((await sys.get('/events?from=2026-11&limit=1')).status).toBe(400);
    expect(await outboxCount()).toBeLessThanOrEqual(1);
  });

  it('takes % and _ in a text search literally', async () => {
    const ids: string[] = [];
    for (const detail of ['late by 100% of the slot', 'late by 1000 minutes', 'bay_7 blocked'])
      ids.push((await sys.post('/events', tracking({ orderNumber: 'SO-LIKE', detail }))).body.id);
    await waitFor('all stored', async () => {
      const stored = await Promise.all(ids.map((id) => sys.get(`/events/${id}`)));
      return stored.every((r) => r.status === 200);
    });
    const found = async (text: string) =>
      (
        (await sys.get(`/events?text=${encodeURIComponent(text)}&limit=50`)).body.items as {
          payload: { detail: string };
        }[]
      ).map((e) => e.payload.detail);
    expect(await found('100%')).toEqual(['late by 100% of the slot']);
    expect(await found('bay_7')).toEqual(['bay_7 blocked']);
    expect(await found('y_7')).toEqual(['bay_7 blocked']);
    expect(await found('ay_')).toEqual(['bay_7 blocked']);
    expect(await found('by_1')).toEqual([]);
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const before = await acceptedCount();
    const malformed = await sys.post('/events', '{"name": "inventory.adj');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'REQUEST.MALFORMED_JSON', errors: [{ field: 'body' }] });
    const huge = await sys.post('/events', tracking({ detail: 'x'.repeat(200_000) }));
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('REQUEST.TOO_LARGE');
    // Nothing recorded (an earlier test's event may still be on its way from the outbox to the store).
    expect(await acceptedCount()).toBe(before);
  });

  it('gives the events of one stream gap-free increasing positions under concurrent publishing', async () => {
    const n = 60;
    const results = await Promise.all(
      Array.from({ length: n }, () => sys.post('/events', tracking({ orderNumber: 'SO-RACE' }))),
    );
    expect(results.every((r) => r.status === 202)).toBe(true);
    expect(results.map((r) => r.body.streamPosition).sort((a, b) => a - b)).toEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    );
    await waitFor(
      'all stored',
      async () =>
        (
          await sys.db.query(
            `SELECT count(*)::int AS n FROM event_store WHERE tenant_id = $1 AND aggregate_id = 'WH1/SO-RACE'`,
            [sys.tenant],
          )
        ).rows[0].n === n,
    );
    const { rows } = await sys.db.query(
      `SELECT stream_position::int AS p FROM event_store WHERE tenant_id = $1 AND aggregate_id = 'WH1/SO-RACE' ORDER BY stream_position`,
      [sys.tenant],
    );
    expect(rows.map((r) => r.p)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  describe('Idempotency-Key', () => {
    it('returns the first response to a resend and stores nothing new', async () => {
      const headers = { 'idempotency-key': `scan-${sys.tenant}-1` };
      const first = await sys.post('/events', tracking({ orderNumber: 'SO-IDEM' }), headers);
      const again = await sys.post('/events', tracking({ orderNumber: 'SO-IDEM' }), headers);
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      await waitFor('stored', async () => (await sys.get(`/events/${first.body.id}`)).status === 200);
      const { rows } = await sys.db.query(
        `SELECT count(*)::int AS n FROM event_store WHERE tenant_id = $1 AND payload->>'orderNumber' = 'SO-IDEM'`,
        [sys.tenant],
      );
      expect(rows[0].n).toBe(1);
    });

    it('applies a burst of concurrent resends once', async () => {
      const headers = { 'idempotency-key': `scan-${sys.tenant}-burst` };
      const results = await Promise.all(
        Array.from({ length: 12 }, () => sys.post('/events', tracking({ orderNumber: 'SO-BURST' }), headers)),
      );
      expect(new Set(results.map((r) => r.status))).toEqual(new Set([202]));
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      await waitFor(
        'stored once',
        async () =>
          (
            await sys.db.query(
              `SELECT count(*)::int AS n FROM event_store WHERE tenant_id = $1 AND payload->>'orderNumber' = 'SO-BURST'`,
              [sys.tenant],
            )
          ).rows[0].n === 1,
      );
      const streams = await sys.db.query(
        `SELECT position::int AS p FROM event_streams WHERE tenant_id = $1 AND aggregate_id = 'WH1/SO-BURST'`,
        [sys.tenant],
      );
      expect(streams.rows[0].p).toBe(1);
    });

    it('refuses the same key for a different request with 422', async () => {
      const headers = { 'idempotency-key': `scan-${sys.tenant}-reuse` };
      expect((await sys.post('/events', tracking({ orderNumber: 'SO-A' }), headers)).status).toBe(202);
      const reused = await sys.post('/events', tracking({ orderNumber: 'SO-B' }), headers);
      expect(reused.status).toBe(422);
      expect(reused.body).toMatchObject({ code: 'IDEMPOTENCY.KEY_REUSED', errors: [{ field: 'Idempotency-Key' }] });
    });

    it('does not burn a key on a rejected request', async () => {
      const headers = { 'idempotency-key': `scan-${sys.tenant}-fixup` };
      expect((await sys.post('/events', tracking({ status: 'teleported' }), headers)).status).toBe(400);
      expect((await sys.post('/events', tracking({ status: 'delivered' }), headers)).status).toBe(202);
    });
  });

  it('lists events newest first with filters and cursor pagination', async () => {
    expect((await sys.post('/warehouses', { code: 'WH9', name: 'Paged' })).status).toBe(201);
    for (let i = 0; i < 5; i++)
      expect((await sys.post('/events', tracking({ warehouseId: 'WH9', orderNumber: `SO-P${i}` }))).status).toBe(202);
    expect(
      (await sys.post('/events', tracking({ warehouseId: 'WH9', orderNumber: 'SO-P0', status: 'delivered' }))).status,
    ).toBe(202);
    await waitFor(
      '6 stored in WH9',
      async () =>
        (await sys.get('/events?warehouseId=WH9&name=carrier.tracking_updated&limit=100')).body.items.length === 6,
    );

    const orders = (page: { body: { items: { payload: { orderNumber: string } }[] } }) =>
      page.body.items.map((e) => e.payload.orderNumber);
    const page1 = await sys.get('/events?warehouseId=WH9&name=carrier.tracking_updated&limit=2');
    expect(page1.status).toBe(200);
    expect(orders(page1)).toEqual(['SO-P0', 'SO-P4']);
    const page2 = await sys.get(
      `/events?warehouseId=WH9&name=carrier.tracking_updated&limit=2&cursor=${page1.body.nextCursor}`,
    );
    const page3 = await sys.get(
      `/events?warehouseId=WH9&name=carrier.tracking_updated&limit=2&cursor=${page2.body.nextCursor}`,
    );
    const page4 = await sys.get(
      `/events?warehouseId=WH9&name=carrier.tracking_updated&limit=2&cursor=${page3.body.nextCursor}`,
    );
    expect(orders(page2)).toEqual(['SO-P3', 'SO-P2']);
    expect(orders(page3)).toEqual(['SO-P1', 'SO-P0']);
    expect(page3.body.nextCursor).toBeNull();
    expect(page4.status).toBe(400);

    const byText = await sys.get('/events?warehouseId=WH9&text=SO-P3');
    expect(orders(byText)).toEqual(['SO-P3']);
    const byAggregate = await sys.get(`/events?aggregateType=order&aggregateId=${encodeURIComponent('WH9/SO-P0')}`);
    expect(byAggregate.body.items.map((e: { payload: { status: string } }) => e.payload.status)).toEqual([
      'delivered',
      'in_transit',
    ]);
    expect((await sys.get('/events?warehouseId=WH9&name=order.created')).body.items).toEqual([]);
    const future = await sys.get(
      `/events?warehouseId=WH9&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(future.body.items).toEqual([]);
    const other = await sys.newTenant();
    const otherTenant = await sys.get('/events?warehouseId=WH9', { authorization: `Bearer ${other.tokens.admin}` });
    expect(otherTenant.body.items).toEqual([]);
  });

  it('refuses to publish a domain event directly, naming the command that emits it', async () => {
    const res = await sys.post('/events', {
      name: 'inventory.adjusted',
      payload: { warehouseId: 'WH1', sku: 'S', locationCode: 'A', lot: '', quantityDelta: 1, reasonCode: 'found' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'EVENTS.NOT_PUBLISHABLE', errors: [{ field: 'name' }] });
    expect(res.body.errors[0].reason).toContain('POST /warehouses/:wh/adjustments');
  });

  it('answers 400 for a bad query and 404 for an unknown id', async () => {
    const bad = await sys.get('/events?limit=9999&from=soon');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['limit', 'from']));
    expect((await sys.get('/events/not-a-uuid')).status).toBe(400);
    const missing = await sys.get('/events/01900000-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('EVENTS.NOT_FOUND');
  });

  it('describes the catalog with a JSON Schema per event type', async () => {
    const res = await sys.get('/event-types');
    expect(res.status).toBe(200);
    const adjusted = res.body.find((t: { name: string }) => t.name === 'inventory.adjusted');
    expect(adjusted).toMatchObject({ version: 1, aggregateType: 'stock' });
    expect(adjusted.schema.properties.quantityDelta).toMatchObject({ type: 'integer' });
    expect(adjusted.schema.required).toEqual(
      expect.arrayContaining(['warehouseId', 'sku', 'locationCode', 'quantityDelta', 'reasonCode']),
    );
  });

  it('reports Postgres and the queue in /health, and serves the OpenAPI document', async () => {
    const health = await sys.get('/health');
    expect(health.status).toBe(200);
    expect(health.body.info).toMatchObject({ postgres: { status: 'up' }, queue: { status: 'up', backend: 'redis' } });
    // Anyone may ask: no figure of anyone's volume.
    expect(health.body.info.queue).toEqual({ status: 'up', backend: 'redis' });
    const doc = await sys.get('/docs/openapi.json');
    expect(doc.status).toBe(200);
    // The documented example is one the api accepts.
    const example = doc.body.components.schemas.PublishEventDto.properties;
    const published = await sys.post('/events', { name: example.name.example, payload: example.payload.example });
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/events', '/events/{id}', '/event-types', '/health']),
    );
  });
});
