import { Injectable, Module } from '@nestjs/common';
import { EventEnvelope, QueuedListener } from '@wms/events';
import type { GoodsReceivedV1, PickCompletedV1 } from '@wms/wms-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const calls = new Map<string, number[]>();
const record = (listener: string, event: EventEnvelope<object>) => {
  const key = `${listener}:${event.id}`;
  const times = calls.get(key) ?? [];
  times.push(Date.now());
  calls.set(key, times);
  return times.length;
};
const callsOf = (listener: string, eventId: string) => calls.get(`${listener}:${eventId}`) ?? [];

@Injectable()
class TestListeners {
  @QueuedListener({ name: 'test-flaky-when-goods-received', events: ['goods.received'] })
  flaky(event: EventEnvelope<GoodsReceivedV1>) {
    if (record('flaky', event) <= 2) throw new Error('ERP timed out');
  }

  @QueuedListener({ name: 'test-steady-when-goods-received', events: ['goods.received'] })
  steady(event: EventEnvelope<GoodsReceivedV1>) {
    record('steady', event);
  }

  @QueuedListener({ name: 'test-broken-when-pick-completed', events: ['pick.completed'] })
  broken(event: EventEnvelope<PickCompletedV1>) {
    record('broken', event);
    throw new Error(`ERP rejected order ${event.payload.orderNumber}`);
  }
}

@Module({ providers: [TestListeners] })
class TestListenersModule {}

describe('queued listeners', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ imports: [TestListenersModule], env: { LISTENER_ATTEMPTS: '3', LISTENER_BACKOFF_MS: '200' } });
  });
  afterAll(async () => {
    await sys?.close();
  });

  const received = { warehouseId: 'WH1', sku: 'SKU-L', locationCode: 'DOCK-1', quantity: 4 };

  it('retries a listener that throws, with growing delays, without re-running the other listeners', async () => {
    const res = await sys.post('/events', { name: 'goods.received', payload: received });
    expect(res.status).toBe(202);
    await waitFor('the flaky listener to succeed on its third attempt', () => callsOf('flaky', res.body.id).length === 3);
    const [a1, a2, a3] = callsOf('flaky', res.body.id);
    expect(a2 - a1).toBeGreaterThanOrEqual(200);
    expect(a3 - a2).toBeGreaterThanOrEqual(400);
    expect(callsOf('steady', res.body.id)).toHaveLength(1);
    const receipts = await sys.db.query('SELECT listener FROM listener_receipts WHERE event_id = $1 ORDER BY listener', [res.body.id]);
    expect(receipts.rows.map((r) => r.listener)).toEqual(['test-flaky-when-goods-received', 'test-steady-when-goods-received']);
  });

  it('moves a listener job whose attempts ran out to the dead-letter store with its error', async () => {
    const res = await sys.post('/events', { name: 'pick.completed', payload: { warehouseId: 'WH1', orderNumber: 'SO-77', sku: 'SKU-L', locationCode: 'A-01', quantity: 1 } });
    expect(res.status).toBe(202);
    const dead = await waitFor('the dead letter', async () => (await sys.db.query('SELECT * FROM dead_letters WHERE event_id = $1', [res.body.id])).rows[0]);
    expect(dead).toMatchObject({
      queue: 'event-listeners',
      job_name: 'test-broken-when-pick-completed',
      event_name: 'pick.completed',
      tenant_id: sys.tenant,
      error_message: 'ERP rejected order SO-77',
      attempts: 3,
      status: 'open',
    });
    expect(dead.payload).toMatchObject({ id: res.body.id, payload: { orderNumber: 'SO-77' } });
    expect(dead.history).toHaveLength(3);
    expect(callsOf('broken', res.body.id)).toHaveLength(3);
    const receipt = await sys.db.query('SELECT 1 FROM listener_receipts WHERE event_id = $1', [res.body.id]);
    expect(receipt.rowCount).toBe(0);
  });

  it('lists the listeners of each event type in the catalog', async () => {
    const types = await sys.get('/event-types');
    const goods = types.body.find((t: { name: string }) => t.name === 'goods.received');
    expect(goods.listeners).toEqual(['test-flaky-when-goods-received', 'test-steady-when-goods-received']);
  });
});
