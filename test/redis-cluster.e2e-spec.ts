import { Injectable, Module } from '@nestjs/common';
import { EVENTS_MESSAGE, type EventEnvelope, QueuedListener } from '@wms/events';
import type { CarrierTrackingUpdatedV1 } from '@wms/wms-domain';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from './support/api-process.js';
import { RedisCluster } from './support/redis-cluster.js';
import { startSystem, type TestSystem, tracking } from './support/system.js';
import { testEnv } from './support/env.js';
import { waitFor } from './support/wait-for.js';
import { Redis } from 'ioredis';

const BURST = 120;

/** How often the test listener ran for each event, in the worker. */
const runs = new Map<string, number>();

@Injectable()
class CountingListener {
  @QueuedListener({ name: 'test-count-when-tracking-updated-on-cluster', events: ['carrier.tracking_updated'] })
  count(event: EventEnvelope<CarrierTrackingUpdatedV1>) {
    runs.set(event.id, (runs.get(event.id) ?? 0) + 1);
  }
}

@Module({ providers: [CountingListener] })
class CountingListenerModule {}

describe('on a Redis Cluster of three nodes', () => {
  let cluster: RedisCluster;
  let sys: TestSystem;
  let b: ApiProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    // Api A and the worker in this process, api B in its own OS process, all on the cluster only.
    sys = await startSystem({ imports: [CountingListenerModule], env: { REDIS_CLUSTER_NODES: cluster.nodes } });
    b = await startApiProcess(sys.env);
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await b?.stop();
    await sys?.close();
    await cluster?.stop();
  });

  it('runs a burst through publish → store → broadcast → listener exactly once, a dashboard on the other api receiving every event', async () => {
    expect(sys.env.REDIS_URL).toBeUndefined();
    const socket = io(b.url, {
      transports: ['websocket'],
      auth: { token: sys.tokens.supervisor },
      reconnection: false,
    });
    sockets.push(socket);
    const received: EventEnvelope[] = [];
    socket.on(EVENTS_MESSAGE, (batch: EventEnvelope[]) => received.push(...batch));
    expect(await socket.timeout(5000).emitWithAck('subscribe', { warehouseId: 'WH1' })).toMatchObject({ ok: true });

    const t0 = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < BURST; i += 20) {
      const answers = await Promise.all(
        Array.from({ length: Math.min(20, BURST - i) }, (_, k) =>
          sys.post('/events', tracking({ orderNumber: `SO-C${i + k}` })),
        ),
      );
      for (const a of answers) {
        expect(a.status, JSON.stringify(a.body)).toBe(202);
        ids.push(a.body.id);
      }
    }
    const accepted = Date.now() - t0;

    await waitFor(
      'every event stored and its listener run',
      async () => {
        const { rows } = await sys.db.query('SELECT count(*)::int AS n FROM event_store WHERE id = ANY($1)', [ids]);
        return rows[0].n === BURST && ids.every((id) => runs.has(id));
      },
      30_000,
    );
    await waitFor('the dashboard on api B to receive every event', () => received.length >= BURST, 10_000);
    const done = Date.now() - t0;

    // Exactly once: one listener run, one receipt and one broadcast per event, nothing of another's.
    expect(ids.map((id) => runs.get(id))).toEqual(ids.map(() => 1));
    // A listener's handler runs inside the transaction that takes its receipt: the last commit may trail it a moment.
    await waitFor('one receipt per event', async () => {
      const receipts = await sys.db.query(
        `SELECT count(*)::int AS n FROM listener_receipts
         WHERE listener = 'test-count-when-tracking-updated-on-cluster' AND event_id = ANY($1)`,
        [ids],
      );
      return receipts.rows[0].n === BURST;
    });
    expect(received.map((e) => e.id).sort()).toEqual([...ids].sort());
    // A moment for a late duplicate to show.
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(BURST);
    console.info(
      `cluster burst: ${BURST} events accepted in ${accepted} ms, stored + broadcast + listened in ${done} ms`,
    );
  });

  it('keeps the queues on the cluster, every key under the hash tag {QUEUE_PREFIX} in that tag’s one slot', async () => {
    const prefix = sys.env.QUEUE_PREFIX;
    const tag = `{${prefix}}`;
    const slot = Number(await cluster.command(cluster.ports[0], 'CLUSTER', 'KEYSLOT', tag));
    const keysByNode = new Map<number, string[]>();
    for (const port of cluster.ports) {
      const keys = (await cluster.command(port, '--scan', '--pattern', `*${prefix}*`)).split('\n').filter(Boolean);
      keysByNode.set(port, keys);
    }
    const all = [...keysByNode.values()].flat();
    // The three queues' keys (events, event-listeners, notifications, maintenance and its schedulers).
    for (const queue of ['events', 'event-listeners', 'maintenance'])
      expect(
        all.some((k) => k.startsWith(`${tag}:${queue}:`)),
        `${queue} keys`,
      ).toBe(true);
    // Rate-limit windows are one key per caller and script, spread over the nodes on purpose (no tag).
    const limits = all.filter((k) => k.startsWith(`${prefix}:throttle:`));
    expect(all.filter((k) => !k.startsWith(`${tag}:`) && !limits.includes(k))).toEqual([]);
    // All on the one node serving the tag's slot: what lets BullMQ's scripts touch several keys at once.
    const holders = [...keysByNode]
      .filter(([, keys]) => keys.some((k) => k.startsWith(`${tag}:`)))
      .map(([port]) => port);
    expect(holders).toHaveLength(1);
    // (Jobs come and go meanwhile, so the slot's count is not compared with the scan's.)
    expect(Number(await cluster.command(holders[0], 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBeGreaterThan(0);
    // The cluster really has three masters sharing the slots, and the suite's single Redis saw none of this.
    const masters = (await cluster.command(cluster.ports[0], 'CLUSTER', 'NODES'))
      .split('\n')
      .filter((line) => line.includes('master'));
    expect(masters).toHaveLength(3);
    const single = new Redis(testEnv.redisUrl);
    try {
      expect(await single.keys(`*${prefix}*`)).toEqual([]);
    } finally {
      single.disconnect();
    }
  });

  it('answers the health check, /metrics, the dashboard’s queue figures and bull-board through the cluster', async () => {
    const admin = { authorization: `Bearer ${sys.tokens.admin}` };
    for (const base of [sys.url, b.url]) {
      const health = await fetch(`${base}/health`).then((r) => r.json());
      expect(health).toMatchObject({ status: 'ok', info: { queue: { status: 'up', backend: 'redis' } } });
      const metrics = await fetch(`${base}/metrics`, { headers: admin });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/wms_queue_jobs\{queue="events",state="waiting"\} \d+/);
      const stats = await fetch(`${base}/dashboard/stats?warehouseId=WH1`, { headers: admin }).then((r) => r.json());
      expect(stats.queues.map((q: { queue: string }) => q.queue)).toEqual([
        'events',
        'event-listeners',
        'notifications',
      ]);
      const board = await fetch(`${base}/admin/queues/api/queues`, { headers: admin });
      expect(board.status).toBe(200);
      const queues = (await board.json()).queues as { name: string; counts: Record<string, number> }[];
      expect(queues.map((q) => q.name).sort()).toEqual(['event-listeners', 'events', 'maintenance', 'notifications']);
      // The burst's listener jobs, kept on completion: read back from the cluster.
      expect(queues.find((q) => q.name === 'event-listeners')!.counts.completed).toBeGreaterThanOrEqual(BURST);
    }
  });
});
