import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventService, EventsConfig, MonitoringService, SystemAlertsRepository, UsersRepository } from '@wms/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemAlertMonitor } from '../apps/worker/src/system-alert.monitor.js';
import { WorkerModule } from '../apps/worker/src/worker.module.js';
import { startSystem, type TestSystem, type Tokens, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A stuck backlog is its tenant's business; the queues, which hold every tenant's jobs, are the operator's. */
describe('backlog figures per tenant', () => {
  // sys.tenant is the operating tenant (OPS_TENANT); A and B are two customers.
  let sys: TestSystem;
  let a: { tenant: string; tokens: Tokens };
  let b: { tenant: string; tokens: Tokens };
  let worker: INestApplicationContext | undefined;
  const stats = async (token: string, query = '') => {
    const res = await sys.get(`/dashboard/stats${query}`, bearer(token));
    expect(res.status).toBe(200);
    return res.body;
  };
  const pendingAlerts = async (tenant: string) =>
    (
      await sys.db.query(
        `SELECT envelope->'payload'->>'kind' AS kind FROM event_outbox WHERE tenant_id = $1 AND envelope->>'name' = 'system.alert'`,
        [tenant],
      )
    ).rows.map((r) => r.kind as string);

  beforeAll(async () => {
    // No worker: what A publishes stays accepted and unprocessed, in A's outbox rows and in the shared events queue.
    sys = await startSystem({ worker: false, env: { ALERT_BACKLOG_AGE_S: '1' } });
    a = await sys.newTenant();
    b = await sys.newTenant();
    for (let i = 0; i < 3; i++)
      expect((await sys.post('/events', tracking({ orderNumber: `SO-BL${i}` }), bearer(a.tokens.admin))).status).toBe(
        202,
      );
    await waitFor(
      'A’s backlog to pass the 1 s threshold',
      async () => (await stats(a.tokens.admin)).backlog.oldestPendingSeconds > 1,
      10_000,
    );
  });
  afterAll(async () => {
    await worker?.close();
    await sys?.close();
  });

  it('shows a tenant its own backlog, in the warehouses it asks for', async () => {
    const own = await stats(a.tokens.admin, '?warehouseId=WH1');
    expect(own.backlog).toMatchObject({ pendingEvents: 3 });
    expect(own.backlog.oldestPendingSeconds).toBeGreaterThan(1);
    expect(own.alerts.map((x: { kind: string }) => x.kind)).toContain('backlog_age');
    expect((await stats(a.tokens.supervisor, '?warehouseId=WH1')).backlog.pendingEvents).toBe(3);
    expect((await stats(a.tokens.admin, '?warehouseId=WH2')).backlog).toEqual({
      pendingEvents: 0,
      oldestPendingSeconds: 0,
    });
  });

  it('shows another tenant none of it, and no queue-wide figures', async () => {
    for (const token of [b.tokens.admin, b.tokens.supervisor]) {
      const other = await stats(token, '?warehouseId=WH1');
      expect(other.backlog).toEqual({ pendingEvents: 0, oldestPendingSeconds: 0 });
      expect(other.queues).toBeUndefined();
      expect(other.alerts).toEqual([]);
    }
    expect((await stats(a.tokens.admin)).queues).toBeUndefined();
  });

  it('shows the queue-wide figures to the operating tenant’s admins only', async () => {
    const ops = await stats(sys.tokens.admin);
    expect(ops.backlog.pendingEvents).toBe(0);
    expect(ops.queues.map((q: { queue: string }) => q.queue)).toEqual(['events', 'event-listeners', 'notifications']);
    expect(ops.queues.find((q: { queue: string }) => q.queue === 'events').waiting).toBe(3);
    expect(ops.alerts.map((x: { kind: string }) => x.kind)).toEqual(['queue_backlog_age']);
    expect((await stats(sys.tokens.supervisor)).queues).toBeUndefined();
  });

  it('alerts the tenant with the backlog, and the operating tenant about the queue; nobody else', async () => {
    const monitor = new SystemAlertMonitor(
      sys.api.get(MonitoringService),
      sys.api.get(EventService),
      sys.api.get(UsersRepository),
      sys.api.get(SystemAlertsRepository),
      sys.api.get(EventsConfig),
    );
    const published = await monitor.check();
    expect(published).toContain(`${a.tenant}/backlog_age`);
    expect(published.filter((k) => k.endsWith('/queue_backlog_age'))).toEqual([`${sys.tenant}/queue_backlog_age`]);
    expect(published.filter((k) => k.startsWith(`${b.tenant}/`) || k === `${sys.tenant}/backlog_age`)).toEqual([]);
    expect(await pendingAlerts(a.tenant)).toEqual(['backlog_age']);
    expect(await pendingAlerts(sys.tenant)).toEqual(['queue_backlog_age']);
    expect(await pendingAlerts(b.tenant)).toEqual([]);
  });

  it('clears once a worker processes the backlog', async () => {
    worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(sys.config), { logger: false });
    await worker.init();
    await waitFor('A’s backlog to drain', async () => (await stats(a.tokens.admin)).backlog.pendingEvents === 0);
    // The alerts published above are processed too, so nothing of this file is left for a later one's outbox relay.
    await waitFor(
      'the alerts to be processed',
      async () => (await pendingAlerts(a.tenant)).length + (await pendingAlerts(sys.tenant)).length === 0,
    );
    expect((await sys.get('/events?name=carrier.tracking_updated', bearer(a.tokens.admin))).body.items).toHaveLength(3);
  });
});
