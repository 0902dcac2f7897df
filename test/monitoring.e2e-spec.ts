import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemAlertMonitor } from '../apps/worker/src/system-alert.monitor.js';
import { startSystem, type TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

describe('metrics and dashboard figures', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    // A 1 ms latency threshold: any real publish → stored time crosses it, so the alert must show.
    sys = await startSystem({ env: { ALERT_P99_LATENCY_MS: '1' } });
    for (let i = 0; i < 4; i++)
      expect((await sys.post('/events', tracking({ orderNumber: `SO-M${i}` }))).status).toBe(202);
    await waitFor('stored', async () => (await sys.get('/events?limit=10')).body.items.length === 4);
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('serves Prometheus metrics to admins and API keys only', async () => {
    const anonymous = await fetch(`${sys.url}/metrics`);
    expect(anonymous.status).toBe(401);
    const res = await fetch(`${sys.url}/metrics`, { headers: { authorization: `Bearer ${sys.tokens.admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/wms_events_published_total\{name="carrier.tracking_updated"\} [4-9]/);
    expect(text).toContain('wms_queue_jobs{queue="events",state="waiting"}');
    expect(text).toMatch(/wms_events_stored_last_hour\{name="carrier.tracking_updated"\} \d+/);
    expect(text).toContain('wms_outbox_pending');
    expect(text).toContain('wms_process_cpu_seconds_total');
  });

  it('gives the dashboard throughput per minute, latency, backlog and the alerts its thresholds raise', async () => {
    const stats = (await sys.get('/dashboard/stats?warehouseId=WH1')).body;
    expect(stats.throughput.reduce((n: number, m: { total: number }) => n + m.total, 0)).toBe(4);
    expect(stats.throughput[0].byName).toEqual({ 'carrier.tracking_updated': 4 });
    expect(stats.storeLatencyMs.p50).toBeGreaterThanOrEqual(0);
    expect(Object.keys(stats.backlog).sort()).toEqual(['oldestPendingSeconds', 'pendingEvents']);
    expect(stats.queues.map((q: { queue: string }) => q.queue)).toEqual(['events', 'event-listeners', 'notifications']);
    expect(stats.alerts.map((a: { kind: string }) => a.kind)).toContain('latency');
    const supervisor = await sys.get('/dashboard/stats?warehouseId=WH9', {
      authorization: `Bearer ${sys.tokens.supervisor}`,
    });
    expect(supervisor.status).toBe(403);
  });

  it('shows every-tenant figures (queue UI, metrics) to the operating tenant only', async () => {
    const other = await sys.newTenant();
    expect(
      (
        await fetch(`${sys.url}/admin/queues/api/queues`, {
          headers: { authorization: `Bearer ${other.tokens.admin}` },
        })
      ).status,
    ).toBe(403);
    const metrics = await fetch(`${sys.url}/metrics`, { headers: { authorization: `Bearer ${other.tokens.admin}` } });
    expect(metrics.status).toBe(403);
    expect((await metrics.json()).code).toBe('AUTH.NOT_OPERATOR');
  });

  it('mounts the queue UI (bull-board) for admins only', async () => {
    expect((await fetch(`${sys.url}/admin/queues`)).status).toBe(401);
    expect(
      (await fetch(`${sys.url}/admin/queues`, { headers: { authorization: `Bearer ${sys.tokens.supervisor}` } }))
        .status,
    ).toBe(403);
    const page = await fetch(`${sys.url}/admin/queues`, { headers: { cookie: `wms_board_token=${sys.tokens.admin}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"');
    const api = await fetch(`${sys.url}/admin/queues/api/queues`, {
      headers: { authorization: `Bearer ${sys.tokens.admin}` },
    });
    expect((await api.json()).queues.map((q: { name: string }) => q.name).sort()).toEqual([
      'event-listeners',
      'events',
      'maintenance',
      'notifications',
    ]);
  });

  it('publishes system.alert when a threshold starts being crossed, once, and pages the admins', async () => {
    const monitor = sys.worker!.get(SystemAlertMonitor);
    expect(await monitor.check()).toContain(`${sys.tenant}/latency`);
    expect((await monitor.check()).filter((k) => k.startsWith(sys.tenant))).toEqual([]);
    await waitFor(
      'the system.alert event',
      async () => (await sys.get('/events?name=system.alert')).body.items.length === 1,
    );
    await waitFor('the admin’s notification', async () =>
      (await sys.get('/me/notifications')).body.items.some(
        (n: { title: string }) => n.title === 'System alert: latency',
      ),
    );
  });

  it('answers liveness and readiness', async () => {
    expect((await sys.get('/health/live')).body).toEqual({ status: 'ok' });
    expect((await sys.get('/health')).body.status).toBe('ok');
  });
});
