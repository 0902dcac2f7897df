import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Module } from '@nestjs/common';
import { type EventEnvelope, LISTENERS_QUEUE, QueuedListener } from '@wms/events';
import type { CarrierTrackingUpdatedV1 } from '@wms/wms-domain';
import type { Queue } from 'bullmq';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import type { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { startSystem, type TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const ERP = 'test-erp-sync-when-tracking-updated';
const PROJECTION = 'test-project-orders-when-tracking-updated';
const erp = { down: false, successes: new Map<string, number>() };

@Injectable()
class TestListeners {
  @QueuedListener({ name: ERP, events: ['carrier.tracking_updated'] })
  sync(event: EventEnvelope<CarrierTrackingUpdatedV1>) {
    if (!event.payload.orderNumber.startsWith('SO-DL')) return;
    if (erp.down) throw new Error(`ERP down for ${event.payload.orderNumber}`);
    erp.successes.set(event.id, (erp.successes.get(event.id) ?? 0) + 1);
  }

  /** A projection: tracking updates per order, written in the listener's transaction. */
  @QueuedListener({ name: PROJECTION, events: ['carrier.tracking_updated'] })
  async project(event: EventEnvelope<CarrierTrackingUpdatedV1>, m: EntityManager) {
    if (!event.payload.orderNumber.startsWith('SO-R')) return;
    await m.query(
      `INSERT INTO test_order_projection (tenant_id, order_number, updates, last_status) VALUES ($1, $2, 1, $3)
       ON CONFLICT (tenant_id, order_number) DO UPDATE SET updates = test_order_projection.updates + 1, last_status = $3`,
      [event.tenantId, event.payload.orderNumber, event.payload.status],
    );
  }
}

@Module({ providers: [TestListeners] })
class TestListenersModule {}

describe('dead letters, retry and replay', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({
      imports: [TestListenersModule],
      env: { LISTENER_ATTEMPTS: '2', LISTENER_BACKOFF_MS: '50' },
    });
    await sys.db.query(
      `CREATE TABLE IF NOT EXISTS test_order_projection (
         tenant_id text, order_number text, updates int, last_status text, PRIMARY KEY (tenant_id, order_number)
       )`,
    );
  });
  afterAll(async () => {
    await sys?.close();
  });

  const deadLetterFor = (order: string) =>
    waitFor(
      `the dead letter of ${order}`,
      async () => (await sys.get(`/admin/dead-letters?jobName=${ERP}&search=${order}`)).body[0],
    );
  const statusOf = async (id: string) => (await sys.get(`/admin/dead-letters/${id}`)).body;

  it('stores the exhausted listener job with its error, tells the admins, and a retry after the fix succeeds exactly once', async () => {
    erp.down = true;
    const published = await sys.post('/events', tracking({ orderNumber: 'SO-DL1' }));
    const dead = await deadLetterFor('SO-DL1');
    expect(dead).toMatchObject({
      status: 'open',
      queue: 'event-listeners',
      jobName: ERP,
      eventId: published.body.id,
      eventName: 'carrier.tracking_updated',
      warehouseId: 'WH1',
      error: 'ERP down for SO-DL1',
      attempts: 2,
    });
    const detail = await statusOf(dead.id);
    expect(detail.payload).toMatchObject({ id: published.body.id, payload: { orderNumber: 'SO-DL1' } });
    expect(detail.history).toHaveLength(2);
    expect(detail.stack).toContain('ERP down');
    await waitFor('the admin’s notification', async () =>
      (await sys.get('/me/notifications')).body.items.some((n: { title: string }) => n.title === `Failed job: ${ERP}`),
    );

    erp.down = false;
    const retried = await sys.post(`/admin/dead-letters/${dead.id}/retry`, {});
    expect(retried.body).toMatchObject({ id: dead.id, status: 'retried' });
    await waitFor('the retried job to resolve it', async () => (await statusOf(dead.id)).status === 'resolved');
    expect(erp.successes.get(published.body.id)).toBe(1);
    const again = await sys.post(`/admin/dead-letters/${dead.id}/retry`, {});
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DEAD_LETTER.NOT_OPEN');
  });

  it('brings a retried job that fails again back to the same dead letter, with its history', async () => {
    erp.down = true;
    await sys.post('/events', tracking({ orderNumber: 'SO-DL2' }));
    const dead = await deadLetterFor('SO-DL2');
    expect((await sys.post(`/admin/dead-letters/${dead.id}/retry`, {})).status).toBe(200);
    const back = await waitFor('the failed retry to come back', async () => {
      const d = await statusOf(dead.id);
      return d.status === 'open' && d.retries === 1 ? d : null;
    });
    expect(back.attempts).toBe(4);
    expect(back.history).toHaveLength(4);
    expect((await sys.get(`/admin/dead-letters?jobName=${ERP}&search=SO-DL2`)).body).toHaveLength(1);
  });

  it('bulk-retries by filter with a dry run first, refusing an empty filter, and audits it', async () => {
    erp.down = true;
    for (const o of ['SO-DL3A', 'SO-DL3B', 'SO-DL3C']) await sys.post('/events', tracking({ orderNumber: o }));
    for (const o of ['SO-DL3A', 'SO-DL3B', 'SO-DL3C']) await deadLetterFor(o);
    const empty = await sys.post('/admin/dead-letters/retry', { filter: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('DEAD_LETTER.FILTER_REQUIRED');
    const dry = await sys.post('/admin/dead-letters/retry', {
      filter: { jobName: ERP, search: 'SO-DL3' },
      dryRun: true,
    });
    expect(dry.body).toEqual({ dryRun: true, matched: 3, retried: 0 });
    expect((await sys.get(`/admin/dead-letters?search=SO-DL3&status=open`)).body).toHaveLength(3);
    const groups = (await sys.get(`/admin/dead-letters/groups?jobName=${ERP}`)).body;
    expect(groups.reduce((n: number, g: { count: number }) => n + g.count, 0)).toBe(4);
    erp.down = false;
    const bulk = await sys.post('/admin/dead-letters/retry', {
      filter: { jobName: ERP, search: 'SO-DL3' },
      perSecond: 50,
    });
    expect(bulk.body).toEqual({ dryRun: false, matched: 3, retried: 3 });
    await waitFor(
      'all three resolved',
      async () => (await sys.get(`/admin/dead-letters?search=SO-DL3&status=resolved`)).body.length === 3,
    );
    const audit = (await sys.get('/admin/audit?limit=20')).body as { action: string; details: { count?: number } }[];
    expect(audit.find((a) => a.action === 'dead_letter.bulk_retried')?.details.count).toBe(3);
  });

  it('answers a bulk retry without a filter with 400 naming the filter', async () => {
    const res = await sys.post('/admin/dead-letters/retry', {});
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('filter');
  });

  it('discards only with a reason, audited; a discarded or unknown one cannot be retried', async () => {
    const [open] = (await sys.get(`/admin/dead-letters?jobName=${ERP}&status=open`)).body;
    expect((await sys.post(`/admin/dead-letters/${open.id}/discard`, {})).status).toBe(400);
    const discarded = await sys.post(`/admin/dead-letters/${open.id}/discard`, {
      reason: 'order closed by hand in the ERP',
    });
    expect(discarded.body).toEqual({ id: open.id, status: 'discarded' });
    expect(await statusOf(open.id)).toMatchObject({
      status: 'discarded',
      statusReason: 'order closed by hand in the ERP',
    });
    expect((await sys.post(`/admin/dead-letters/${open.id}/retry`, {})).body.code).toBe('DEAD_LETTER.NOT_OPEN');
    expect((await sys.post('/admin/dead-letters/01900000-0000-7000-8000-000000000000/retry', {})).status).toBe(404);
    const audit = (await sys.get('/admin/audit?limit=20')).body as {
      action: string;
      target: string;
      details: { reason?: string };
    }[];
    expect(audit.find((a) => a.action === 'dead_letter.discarded' && a.target === open.id)?.details.reason).toBe(
      'order closed by hand in the ERP',
    );
  });

  it('replays 1,000 stored events into a rebuilt projection; twice gives what once gives', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    const statuses = ['in_transit', 'out_for_delivery', 'delivered'];
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 1000) {
          const i = next++;
          expect(
            (await sys.post('/events', tracking({ orderNumber: `SO-R${i % 100}`, status: statuses[i % 3] }))).status,
          ).toBe(202);
        }
      }),
    );
    const to = new Date(Date.now() + 1000).toISOString();
    const projection = async () =>
      (
        await sys.db.query(
          `SELECT order_number, updates FROM test_order_projection WHERE tenant_id = $1 ORDER BY order_number`,
          [sys.tenant],
        )
      ).rows;
    const total = async () => (await projection()).reduce((n, r) => n + r.updates, 0);
    await waitFor('the live projection', async () => (await total()) === 1000, 60_000, 100);
    const live = await projection();

    // Rebuild: empty the projection and forget what it had handled, as when a projection is reset.
    await sys.db.query(`DELETE FROM test_order_projection WHERE tenant_id = $1`, [sys.tenant]);
    await sys.db.query(`DELETE FROM listener_receipts WHERE listener = $1`, [PROJECTION]);
    const queue = sys.api.get<Queue>(getQueueToken(LISTENERS_QUEUE), { strict: false });
    const idle = async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return c.waiting + c.active + c.delayed + c.prioritized === 0;
    };
    const first = await sys.post('/admin/replays', {
      from,
      to,
      name: 'carrier.tracking_updated',
      listener: PROJECTION,
    });
    expect(first.status).toBe(201);
    expect(first.body.events).toBeGreaterThanOrEqual(1000);
    await waitFor('the first replay', async () => (await total()) === 1000 && (await idle()), 60_000, 100);
    expect(await projection()).toEqual(live);
    const second = await sys.post('/admin/replays', {
      from,
      to,
      name: 'carrier.tracking_updated',
      listener: PROJECTION,
    });
    expect(second.body.jobs).toBe(first.body.jobs);
    await waitFor('the second replay to drain', idle, 60_000, 100);
    expect(await projection()).toEqual(live);
  });

  it('refuses a replay with from after to, or an unknown listener', async () => {
    const bad = await sys.post('/admin/replays', { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(bad.body).toMatchObject({ code: 'REPLAY.RANGE', errors: [{ field: 'from' }] });
    const unknown = await sys.post('/admin/replays', {
      from: '2026-01-01T00:00:00Z',
      to: '2026-02-01T00:00:00Z',
      listener: 'nope',
    });
    expect(unknown.body).toMatchObject({ code: 'REPLAY.UNKNOWN_LISTENER', errors: [{ field: 'listener' }] });
  });

  it('serves admins on the command line too, with a non-zero exit on a refused action', () => {
    const wms = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'), '--tenant', sys.tenant, ...args],
        {
          env: { PATH: process.env.PATH, ...sys.env, LOG_LEVEL: 'silent' },
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
    const list = wms('--json', 'dead-letters:list', '--job', ERP);
    expect(list.status, list.stderr).toBe(0);
    const items = JSON.parse(list.stdout) as { status: string }[];
    expect(items.map((d) => d.status).sort()).toEqual(['discarded', 'resolved', 'resolved', 'resolved', 'resolved']);
    const refused = wms('dead-letters:retry');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('needs at least one filter');
    const replay = wms(
      'events:replay',
      '--from',
      '2026-01-01T00:00:00Z',
      '--to',
      '2026-01-02T00:00:00Z',
      '--listener',
      'nope',
    );
    expect(replay.status).toBe(1);
    expect(replay.stderr).toContain('no queued listener named nope');
  });

  it('follows new events on the command line, in the order they were stored, and only those', async () => {
    const before = await sys.post('/events', tracking({ warehouseId: 'WH2', orderNumber: 'SO-TAIL-OLD' }));
    expect(before.status).toBe(202);
    await waitFor(
      'the old event to be stored',
      async () => (await sys.get(`/events/${before.body.id}`)).status === 200,
    );
    const tail = spawn(
      process.execPath,
      [
        path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'),
        '--tenant',
        sys.tenant,
        '--json',
        'events:tail',
        '--warehouse',
        'WH2',
        '--seconds',
        '30',
      ],
      { env: { PATH: process.env.PATH, ...sys.env, LOG_LEVEL: 'silent' } },
    );
    let out = '';
    let err = '';
    tail.stdout.on('data', (d) => (out += d));
    tail.stderr.on('data', (d) => (err += d));
    try {
      await waitFor('the CLI to start following', () => err.includes('following new events'), 30_000);
      const ids: string[] = [];
      // One at a time, each stored before the next: a cursor on ids cannot yet see an event recorded earlier
      // but stored later (the store sequence of the history issue will).
      for (const n of [1, 2, 3]) {
        const { id } = (await sys.post('/events', tracking({ warehouseId: 'WH2', orderNumber: `SO-TAIL-${n}` }))).body;
        await waitFor('it to be stored', async () => (await sys.get(`/events/${id}`)).status === 200);
        ids.push(id);
      }
      await sys.post('/events', tracking({ warehouseId: 'WH1', orderNumber: 'SO-TAIL-OTHER' }));
      const shown = () =>
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { id: string; payload: { orderNumber: string } });
      await waitFor('the three new events', () => shown().length >= 3);
      expect(shown().map((e) => e.id)).toEqual([...ids].sort());
      expect(shown().map((e) => e.payload.orderNumber)).not.toContain('SO-TAIL-OLD');
    } finally {
      tail.kill('SIGTERM');
    }
  });
});
