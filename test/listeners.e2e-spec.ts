import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEnvelope, LISTENERS_QUEUE, QueuedListener } from '@wms/events';
import type { CarrierTrackingUpdatedV1 } from '@wms/wms-domain';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerModule } from '../apps/worker/src/worker.module.js';
import { startSystem, TestSystem, tracking } from './support/system.js';
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
  @QueuedListener({ name: 'test-flaky-when-tracking-updated', events: ['carrier.tracking_updated'] })
  flaky(event: EventEnvelope<CarrierTrackingUpdatedV1>) {
    if (event.payload.status === 'in_transit' && record('flaky', event) <= 2) throw new Error('ERP timed out');
  }

  @QueuedListener({ name: 'test-steady-when-tracking-updated', events: ['carrier.tracking_updated'] })
  steady(event: EventEnvelope<CarrierTrackingUpdatedV1>) {
    record('steady', event);
  }

  @QueuedListener({ name: 'test-broken-when-tracking-updated', events: ['carrier.tracking_updated'] })
  broken(event: EventEnvelope<CarrierTrackingUpdatedV1>) {
    if (event.payload.status !== 'exception') return;
    record('broken', event);
    throw new Error(`ERP rejected order ${event.payload.orderNumber}`);
  }
}

@Module({ providers: [TestListeners] })
class TestListenersModule {}

describe('queued listeners', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({
      imports: [TestListenersModule],
      env: { LISTENER_ATTEMPTS: '3', LISTENER_BACKOFF_MS: '200' },
    });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('retries a listener that throws, with growing delays, without re-running the other listeners', async () => {
    const res = await sys.post('/events', tracking({ orderNumber: 'SO-L1' }));
    expect(res.status).toBe(202);
    await waitFor(
      'the flaky listener to succeed on its third attempt',
      () => callsOf('flaky', res.body.id).length === 3,
    );
    const [a1, a2, a3] = callsOf('flaky', res.body.id);
    expect(a2 - a1).toBeGreaterThanOrEqual(200);
    expect(a3 - a2).toBeGreaterThanOrEqual(400);
    expect(callsOf('steady', res.body.id)).toHaveLength(1);
    const receipts = await sys.db.query(
      'SELECT listener FROM listener_receipts WHERE event_id = $1 ORDER BY listener',
      [res.body.id],
    );
    expect(receipts.rows.map((r) => r.listener)).toEqual([
      'test-broken-when-tracking-updated',
      'test-flaky-when-tracking-updated',
      'test-steady-when-tracking-updated',
    ]);
  });

  it('moves a listener job whose attempts ran out to the dead-letter store with its error', async () => {
    const res = await sys.post('/events', tracking({ orderNumber: 'SO-77', status: 'exception' }));
    expect(res.status).toBe(202);
    const dead = await waitFor(
      'the dead letter',
      async () => (await sys.db.query('SELECT * FROM dead_letters WHERE event_id = $1', [res.body.id])).rows[0],
    );
    expect(dead).toMatchObject({
      queue: 'event-listeners',
      job_name: 'test-broken-when-tracking-updated',
      event_name: 'carrier.tracking_updated',
      tenant_id: sys.tenant,
      error_message: 'ERP rejected order SO-77',
      attempts: 3,
      status: 'open',
    });
    expect(dead.payload).toMatchObject({ id: res.body.id, payload: { orderNumber: 'SO-77' } });
    expect(dead.history).toHaveLength(3);
    expect(callsOf('broken', res.body.id)).toHaveLength(3);
    const receipt = await sys.db.query('SELECT listener FROM listener_receipts WHERE event_id = $1 ORDER BY listener', [
      res.body.id,
    ]);
    expect(receipt.rows.map((r) => r.listener)).toEqual([
      'test-flaky-when-tracking-updated',
      'test-steady-when-tracking-updated',
    ]);
  });

  it('lists the listeners of each event type in the catalog', async () => {
    const types = await sys.get('/event-types');
    const type = types.body.find((t: { name: string }) => t.name === 'carrier.tracking_updated');
    expect(type.listeners).toEqual([
      'test-flaky-when-tracking-updated',
      'test-steady-when-tracking-updated',
      'test-broken-when-tracking-updated',
    ]);
  });
});

describe('the worker at boot', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ worker: false });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('refuses to start, naming them, while jobs wait that it has no handler for', async () => {
    const listeners = sys.api.get<Queue>(getQueueToken(LISTENERS_QUEUE), { strict: false });
    const job = await listeners.add('renamed-listener-when-tracking-updated', tracking().payload as never);
    const start = NestFactory.createApplicationContext(WorkerModule.forRoot(sys.config), { logger: false });
    await expect(start).rejects.toThrow(/event-listeners\/renamed-listener-when-tracking-updated/);
    await job.remove();
    const worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(sys.config), { logger: false });
    await worker.close();
  });
});
