import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { startSystem, tracking, type TestSystem } from './support/system.js';
import { startPostgresProxy, type PostgresProxy } from './support/tcp-proxy.js';
import { waitFor } from './support/wait-for.js';
import { newWarehouse, type DemoWarehouse } from './support/warehouse-factory.js';

/**
 * A Postgres connection that drops mid-request never answers a bare 500, never applies a change twice
 * and never loses an accepted event: a unit of work that had not sent its COMMIT runs again on a fresh
 * connection; one whose COMMIT's answer was lost is a 503 with Retry-After, and the resend with the same
 * Idempotency-Key answers what was saved. The api and worker reach Postgres through a proxy that cuts
 * one chosen connection just before or just after one chosen message; the test reads Postgres directly.
 */
describe('a Postgres connection that drops mid-request', () => {
  let proxy: PostgresProxy;
  let sys: TestSystem;
  let w: DemoWarehouse;
  const receive = (quantity: number, key: string) =>
    sys.post(
      `/warehouses/${w.wh}/receipts`,
      { barcode: w.products[w.sku(1)], locationCode: 'DOCK-1', quantity },
      { 'idempotency-key': key },
    );
  const onHand = async () => {
    const { rows } = await sys.db.query(
      `SELECT coalesce(sum(on_hand), 0)::int AS n FROM stock WHERE tenant_id = $1 AND warehouse_code = $2`,
      [sys.tenant, w.wh],
    );
    return rows[0].n as number;
  };
  /** Receipts of the warehouse accepted so far, wherever they are (outbox or store), counted once. */
  const receipts = async () => {
    const { rows } = await sys.db.query(
      `SELECT count(*)::int AS n FROM (
         SELECT id FROM event_outbox
         WHERE envelope->>'tenantId' = $1 AND envelope->>'warehouseId' = $2 AND envelope->>'name' = 'goods.received'
         UNION
         SELECT id FROM event_store WHERE tenant_id = $1 AND warehouse_id = $2 AND name = 'goods.received'
       ) e`,
      [sys.tenant, w.wh],
    );
    return rows[0].n as number;
  };
  /** Once the outbox is drained: every stream of the tenant is numbered 1..n, without a gap or a repeat. */
  const streamsGapFree = async () => {
    await waitFor('the outbox to drain', async () => {
      const { rows } = await sys.db.query(
        `SELECT count(*)::int AS n FROM event_outbox WHERE envelope->>'tenantId' = $1`,
        [sys.tenant],
      );
      return rows[0].n === 0;
    });
    const { rows } = await sys.db.query(
      `SELECT aggregate_type, aggregate_id, array_agg(stream_position::int ORDER BY stream_position) AS p
       FROM event_store WHERE tenant_id = $1 GROUP BY 1, 2`,
      [sys.tenant],
    );
    return rows.filter((r) => !(r.p as number[]).every((p, i) => p === i + 1)).map((r) => `${r.aggregate_id}: ${r.p}`);
  };

  beforeAll(async () => {
    const db = new URL(testEnv.databaseUrl);
    proxy = await startPostgresProxy(Number(db.port || 5432), db.hostname);
    db.hostname = '127.0.0.1';
    db.port = String(proxy.port);
    // An event whose COMMIT's answer was lost was never handed to the queue: the outbox redrive sends it.
    sys = await startSystem({ env: { DATABASE_URL: db.toString(), OUTBOX_REDRIVE_AFTER_MS: '1000' } });
    w = await newWarehouse(sys, 1);
  });
  afterAll(async () => {
    await sys?.close();
    await proxy?.close();
  });

  it('runs a command again on a fresh connection when the connection dropped before COMMIT was sent', async () => {
    const [before, receiptsBefore] = [await onHand(), await receipts()];
    // The stock row is written; the connection dies as the event is recorded: Postgres rolls it all back.
    const cut = proxy.cutOnce({ after: 'INSERT INTO stock', at: 'INSERT INTO event_outbox', mode: 'before' });
    const res = await receive(7, `rcv-${randomUUID()}`);
    await cut;
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await onHand()).toBe(before + 7);
    expect(await receipts()).toBe(receiptsBefore + 1);
    expect(await streamsGapFree()).toEqual([]);
  });

  it('answers 503 with Retry-After when the answer to COMMIT was lost, and the resend answers what was saved', async () => {
    const [before, receiptsBefore] = [await onHand(), await receipts()];
    const key = `rcv-${randomUUID()}`;
    const cut = proxy.cutOnce({ after: 'INSERT INTO stock', at: 'COMMIT', mode: 'after' });
    const lost = await receive(5, key);
    await cut;
    expect(lost.status, JSON.stringify(lost.body)).toBe(503);
    expect(lost.headers.get('retry-after')).toBe('1');
    expect(lost.body.code).toBe('DATABASE.OUTCOME_UNKNOWN');
    // Postgres committed it: the stock moved once.
    expect(await onHand()).toBe(before + 5);
    const again = await receive(5, key);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await onHand()).toBe(before + 5);
    expect(await receipts()).toBe(receiptsBefore + 1);
    expect(await streamsGapFree()).toEqual([]);
  });

  it('answers 503 when COMMIT was sent but never arrived, and the resend applies the change once', async () => {
    const [before, receiptsBefore] = [await onHand(), await receipts()];
    const key = `rcv-${randomUUID()}`;
    const cut = proxy.cutOnce({ after: 'INSERT INTO stock', at: 'COMMIT', mode: 'before' });
    const lost = await receive(4, key);
    await cut;
    expect(lost.status, JSON.stringify(lost.body)).toBe(503);
    expect(lost.body.code).toBe('DATABASE.OUTCOME_UNKNOWN');
    expect(await onHand()).toBe(before);
    const again = await receive(4, key);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(await onHand()).toBe(before + 4);
    expect(await receipts()).toBe(receiptsBefore + 1);
    expect(await streamsGapFree()).toEqual([]);
  });

  for (const mode of ['before', 'after'] as const) {
    it(`records every request of a group-commit batch once when its connection dropped ${mode} the statement`, async () => {
      const order = `SO-${mode}-${randomUUID().slice(0, 8)}`.toUpperCase();
      const cut = proxy.cutOnce({ at: 'INSERT INTO event_outbox (id, envelope)', mode });
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          sys.post('/events', tracking({ orderNumber: order, trackingNumber: `JD${String(i).padStart(6, '0')}` })),
        ),
      );
      await cut;
      expect(
        results.map((r) => r.status),
        JSON.stringify(results.find((r) => r.status !== 202)?.body),
      ).toEqual(results.map(() => 202));
      const ids = results.map((r) => r.body.id as string);
      expect(new Set(ids).size).toBe(ids.length);
      const { rows } = await waitFor('every accepted event to be stored', async () => {
        const r = await sys.db.query(
          `SELECT id, stream_position::int AS p FROM event_store
           WHERE tenant_id = $1 AND aggregate_id = $2 ORDER BY stream_position`,
          [sys.tenant, `WH1/${order}`],
        );
        return r.rows.length >= ids.length ? r : null;
      });
      expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(rows.map((r) => r.p)).toEqual(ids.map((_, i) => i + 1));
      expect(await streamsGapFree()).toEqual([]);
    });
  }

  it('answers a read again when its connection dropped', async () => {
    const cut = proxy.cutOnce({ at: 'FROM event_store', mode: 'before' });
    const res = await sys.get('/events?limit=5');
    await cut;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Array.isArray(res.body.items)).toBe(true);
  });

  it('answers 503 with Retry-After, not 500, while the database cannot be reached, and recovers', async () => {
    const before = await onHand();
    proxy.refuse(true);
    try {
      const read = await sys.get('/events?limit=5');
      expect(read.status, JSON.stringify(read.body)).toBe(503);
      expect(read.body.code).toBe('DATABASE.UNAVAILABLE');
      const write = await receive(3, `rcv-${randomUUID()}`);
      expect(write.status, JSON.stringify(write.body)).toBe(503);
      expect(write.body.code).toBe('DATABASE.UNAVAILABLE');
      expect(write.body.message).toMatch(/retry/);
    } finally {
      proxy.refuse(false);
    }
    expect(await onHand()).toBe(before);
    const res = await receive(3, `rcv-${randomUUID()}`);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});
