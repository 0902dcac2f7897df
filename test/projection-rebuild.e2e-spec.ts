import { Injectable, Module } from '@nestjs/common';
import {
  DomainError,
  type EventEnvelope,
  ProjectionRebuildService,
  QueuedListener,
  type RebuildScope,
  ResetsProjection,
} from '@wms/events';
import type { CarrierTrackingUpdatedV1 } from '@wms/wms-domain';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { startSystem, type TestSystem, type Tokens, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const PROJECTION = 'test-count-tracking-per-hour-when-tracking-updated';
const NOTIFIER = 'route-notifications-when-event-stored';
const HOUR = 3_600_000;
// UTC midnight two days ago: every occurredAt of the suite lies inside the offline acceptance window.
const BASE = Math.floor((Date.now() - 2 * 86_400_000) / 86_400_000) * 86_400_000;
const at = (hours: number, ms = 0) => new Date(BASE + hours * HOUR + ms).toISOString();
const HELD_ORDER = 'SO-HELD';

/** A door that stays shut until opened; `entered` opens when someone reaches it. */
const door = () => {
  let open!: () => void;
  let enter!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const entered = new Promise<void>((r) => (enter = r));
  let reached = false;
  return {
    open,
    async pass() {
      reached = true;
      enter();
      await opened;
    },
    entered,
    get reached() {
      return reached;
    },
  };
};
type Door = ReturnType<typeof door>;
/** Doors the tests put in the listener's way: in a tenant's reset, and in the live handling of HELD_ORDER. */
const doors: { reset?: { tenant: string; door: Door }; live?: Door } = {};

/** An accumulating projection: tracking updates per hour (of occurredAt) and status, per tenant. */
@Injectable()
class TrackingPerHour {
  @QueuedListener({ name: PROJECTION, events: ['carrier.tracking_updated'], rebuildable: true })
  async project(event: EventEnvelope<CarrierTrackingUpdatedV1>, m: EntityManager) {
    await m.query(
      `INSERT INTO test_tracking_per_hour (tenant_id, hour, status, updates)
       VALUES ($1, date_trunc('hour', $2::timestamptz, 'UTC'), $3, 1)
       ON CONFLICT (tenant_id, hour, status) DO UPDATE SET updates = test_tracking_per_hour.updates + 1`,
      [event.tenantId, event.occurredAt, event.payload.status],
    );
    if (event.payload.orderNumber === HELD_ORDER) await doors.live?.pass();
  }

  /** Whole hours only: a counter of an hour cannot forget part of its events. */
  @ResetsProjection(PROJECTION)
  async reset(scope: RebuildScope, m: EntityManager) {
    for (const field of ['from', 'to'] as const)
      if (Date.parse(scope[field]) % HOUR)
        throw new DomainError('TEST.NOT_ON_THE_HOUR', `${field} must be on the hour`, 'invalid', [
          { field, reason: 'is not on the hour' },
        ]);
    await m.query(`DELETE FROM test_tracking_per_hour WHERE tenant_id = $1 AND hour >= $2 AND hour < $3`, [
      scope.tenantId,
      scope.from,
      scope.to,
    ]);
    if (doors.reset?.tenant === scope.tenantId) await doors.reset.door.pass();
  }
}

@Module({ providers: [TrackingPerHour] })
class TrackingPerHourModule {}

describe('rebuilding a projection', () => {
  let sys: TestSystem;
  let other: { tenant: string; tokens: Tokens };
  let live: unknown[];
  let otherLive: unknown[];
  const statuses = ['in_transit', 'out_for_delivery', 'delivered', 'exception'];

  const projection = async (tenant = sys.tenant) =>
    (
      await sys.db.query(
        `SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour, status, updates
         FROM test_tracking_per_hour WHERE tenant_id = $1 ORDER BY hour, status`,
        [tenant],
      )
    ).rows;
  const total = async (tenant = sys.tenant) =>
    (await projection(tenant)).reduce((n: number, r: { updates: number }) => n + r.updates, 0);
  const receipts = async (tenant: string) =>
    (
      await sys.db.query(`SELECT count(*)::int AS n FROM listener_receipts WHERE listener = $1 AND tenant_id = $2`, [
        PROJECTION,
        tenant,
      ])
    ).rows[0].n as number;
  /** `count` tracking updates spread over hours 0-5 of BASE, published 20 at a time. */
  const publish = async (count: number, token = sys.tokens.admin) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < count) {
          const i = next++;
          const res = await sys.post(
            '/events',
            { ...tracking({ orderNumber: `SO-${i % 50}`, status: statuses[i % 4] }), occurredAt: at(i % 6, i) },
            { authorization: `Bearer ${token}` },
          );
          expect(res.status).toBe(202);
        }
      }),
    );
  };
  const rebuild = (body: object, listener = PROJECTION, token = sys.tokens.admin) =>
    sys.post(`/admin/listeners/${listener}/rebuild`, body, { authorization: `Bearer ${token}` });
  const handledAll = (id: string, token = sys.tokens.admin) =>
    waitFor(
      `rebuild ${id} to be handled`,
      async () => {
        const p = (await sys.get(`/admin/listeners/${PROJECTION}/rebuilds/${id}`, { authorization: `Bearer ${token}` }))
          .body;
        return p.status === 'queued' && p.handled === p.eventsQueued ? p : null;
      },
      60_000,
      100,
    );

  beforeAll(async () => {
    sys = await startSystem({ imports: [TrackingPerHourModule] });
    await sys.db.query(
      `CREATE TABLE IF NOT EXISTS test_tracking_per_hour (
         tenant_id text, hour timestamptz, status text, updates int NOT NULL, PRIMARY KEY (tenant_id, hour, status)
       )`,
    );
    other = await sys.newTenant();
    await Promise.all([publish(1200), publish(120, other.tokens.admin)]);
    await waitFor('the live projection', async () => (await receipts(sys.tenant)) === 1200, 60_000, 100);
    await waitFor('the other tenant’s', async () => (await receipts(other.tenant)) === 120, 60_000, 100);
    live = await projection();
    otherLive = await projection(other.tenant);
    expect(await total()).toBe(1200);
  }, 120_000);
  afterAll(async () => {
    await sys?.close();
  });

  it('rebuilds a range of a corrupted projection into what live processing built, dry run first, audited', async () => {
    // Hours 2 and 3 go wrong (a bug, a hand edit); the other hours and the other tenant stay right.
    await sys.db.query(
      `UPDATE test_tracking_per_hour SET updates = updates * 7 WHERE tenant_id = $1 AND hour >= $2 AND hour < $3`,
      [sys.tenant, at(2), at(4)],
    );
    await sys.db.query(`DELETE FROM test_tracking_per_hour WHERE tenant_id = $1 AND hour = $2 AND status = $3`, [
      sys.tenant,
      at(3),
      'delivered',
    ]);
    expect(await projection()).not.toEqual(live);

    const dry = await rebuild({ from: at(2), to: at(4), dryRun: true });
    expect(dry.status).toBe(201);
    expect(dry.body).toEqual({
      dryRun: true,
      listener: PROJECTION,
      from: at(2),
      to: at(4),
      eventsReset: 400,
      receiptsReset: 400,
    });
    expect(await receipts(sys.tenant)).toBe(1200);
    expect(await projection()).not.toEqual(live);

    const res = await rebuild({ from: at(2), to: at(4) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      dryRun: false,
      resumed: false,
      listener: PROJECTION,
      from: at(2),
      to: at(4),
      status: 'queued',
      eventsReset: 400,
      receiptsReset: 400,
      eventsQueued: 400,
    });
    await handledAll(res.body.id);
    expect(await projection()).toEqual(live);
    expect(await receipts(sys.tenant)).toBe(1200);
    // Another tenant's receipts and rows are not touched, nor its events queued.
    expect(await receipts(other.tenant)).toBe(120);
    expect(await projection(other.tenant)).toEqual(otherLive);

    const audit = (await sys.get('/admin/audit?limit=20')).body as { action: string; target: string; details: any }[];
    expect(audit.filter((a) => a.action === 'listener.rebuilt')).toEqual([
      expect.objectContaining({
        target: PROJECTION,
        details: { rebuildId: res.body.id, from: at(2), to: at(4), eventsReset: 400, receiptsReset: 400 },
      }),
    ]);
    const otherAudit = (await sys.get('/admin/audit?limit=20', { authorization: `Bearer ${other.tokens.admin}` }))
      .body as { action: string }[];
    expect(otherAudit.some((a) => a.action === 'listener.rebuilt')).toBe(false);
  });

  it('finishes a rebuild interrupted after its reset when it is run again, applying each event once', async () => {
    const service = sys.api.get(ProjectionRebuildService, { strict: false });
    const actor = { type: 'user' as const, id: 'test' };
    // The process "dies" once the first page of the replay is queued: the reset is committed, the rest is not queued.
    await expect(
      service.rebuild(actor, sys.tenant, PROJECTION, { from: at(0), to: at(6) }, (p) => {
        if (p.step === 'queued') throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    const [interrupted] = (
      await sys.db.query(`SELECT id::text FROM listener_rebuilds WHERE tenant_id = $1 AND status = 'queueing'`, [
        sys.tenant,
      ])
    ).rows;
    const halfway = (await sys.get(`/admin/listeners/${PROJECTION}/rebuilds/${interrupted.id}`)).body;
    expect(halfway).toMatchObject({ status: 'queueing', eventsReset: 1200, receiptsReset: 1200, eventsQueued: 500 });

    const elsewhere = await rebuild({ from: at(0), to: at(1) });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body).toMatchObject({ code: 'REBUILD.INTERRUPTED', errors: [{ field: 'from' }, { field: 'to' }] });
    expect(elsewhere.body.message).toContain(interrupted.id);

    const again = await rebuild({ from: at(0), to: at(6) });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: interrupted.id, resumed: true, status: 'queued', eventsQueued: 1200 });
    await handledAll(interrupted.id);
    expect(await projection()).toEqual(live);
    expect(await receipts(sys.tenant)).toBe(1200);
    const audit = (await sys.get('/admin/audit?limit=20')).body as { action: string; details: any }[];
    expect(audit.find((a) => a.action === 'listener.rebuild_resumed')?.details).toMatchObject({
      rebuildId: interrupted.id,
      eventsQueued: 500,
    });
  });

  it('refuses a rebuild or a replay of the listener while a rebuild of it runs, in any process; not another tenant’s', async () => {
    const held = door();
    doors.reset = { tenant: sys.tenant, door: held };
    const running = rebuild({ from: at(4), to: at(5) });
    await held.entered;
    try {
      const second = await rebuild({ from: at(0), to: at(1) });
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({ code: 'LISTENER.BUSY', errors: [{ field: 'listener' }] });
      expect(second.body.message).toContain(PROJECTION);
      const replay = await sys.post('/admin/replays', { from: at(0), to: at(1), listener: PROJECTION });
      expect(replay.status).toBe(409);
      expect(replay.body.code).toBe('LISTENER.BUSY');
      // The worker's services are another Nest application with memories of their own: the lock is in Postgres.
      const worker = sys.worker!.get(ProjectionRebuildService, { strict: false });
      await expect(
        worker.rebuild({ type: 'user', id: 'test' }, sys.tenant, PROJECTION, { from: at(0), to: at(1) }),
      ).rejects.toMatchObject({ code: 'LISTENER.BUSY' });
      const theirs = await rebuild({ from: at(0), to: at(6) }, PROJECTION, other.tokens.admin);
      expect(theirs.status).toBe(201);
      await handledAll(theirs.body.id, other.tokens.admin);
      expect(await projection(other.tenant)).toEqual(otherLive);
    } finally {
      held.open();
      doors.reset = undefined;
    }
    expect((await running).status).toBe(201);
    await handledAll((await running).body.id);
    expect(await projection()).toEqual(live);
  });

  it('refuses an unknown listener (404), from not before to (400), a range the projection cannot reset, and a listener that is not a projection (422)', async () => {
    const unknown = await rebuild({ from: at(0), to: at(1) }, 'no-such-listener');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'LISTENER.UNKNOWN', errors: [{ field: 'listener' }] });
    expect(unknown.body.message).toContain(PROJECTION);
    for (const [from, to] of [
      [at(1), at(1)],
      [at(2), at(1)],
    ]) {
      const range = await rebuild({ from, to });
      expect(range.status).toBe(400);
      expect(range.body).toMatchObject({ code: 'REBUILD.RANGE', errors: [{ field: 'from' }] });
    }
    const missing = await rebuild({ to: at(1) });
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((e: { field: string }) => e.field)).toContain('from');
    const halfHour = await rebuild({ from: at(1, HOUR / 2), to: at(2) });
    expect(halfHour.status).toBe(400);
    expect(halfHour.body).toMatchObject({ code: 'TEST.NOT_ON_THE_HOUR', errors: [{ field: 'from' }] });
    // Rebuilding the notification router would send every alert of the range again, to people.
    const notifier = await rebuild({ from: at(0), to: at(6) }, NOTIFIER);
    expect(notifier.status).toBe(422);
    expect(notifier.body).toMatchObject({ code: 'LISTENER.NOT_REBUILDABLE', errors: [{ field: 'listener' }] });
    expect(await projection()).toEqual(live);
    expect(await receipts(sys.tenant)).toBe(1200);
    const audit = (await sys.get('/admin/audit?limit=50')).body as { target: string }[];
    expect(audit.filter((a) => a.target === NOTIFIER || a.target === 'no-such-listener')).toEqual([]);
  });

  it('keeps a live event that is being handled out of a reset under way: it is applied once', async () => {
    const handling = door();
    doors.live = handling;
    const resetting = door();
    doors.reset = { tenant: sys.tenant, door: resetting };
    try {
      // A fresh hour: the live job's row is new, so the reset cannot see it until it commits.
      const published = await sys.post('/events', {
        ...tracking({ orderNumber: HELD_ORDER, status: 'delivered' }),
        occurredAt: at(10, 5),
      });
      expect(published.status).toBe(202);
      await handling.entered;
      const running = rebuild({ from: at(10), to: at(11) });
      // Either the reset waits for the live job (its lock), or it runs past it (none) and is stopped at its door.
      await waitFor(
        'the rebuild to wait for the live job or to reach its door',
        async () =>
          resetting.reached ||
          (await sys.db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rowCount,
      );
      handling.open();
      await waitFor(
        'the live job to commit',
        async () =>
          (
            await sys.db.query(`SELECT 1 FROM listener_receipts WHERE listener = $1 AND event_id = $2`, [
              PROJECTION,
              published.body.id,
            ])
          ).rowCount,
      );
      resetting.open();
      const res = await running;
      expect(res.status).toBe(201);
      await handledAll(res.body.id);
      expect(
        await sys.db
          .query(`SELECT status, updates FROM test_tracking_per_hour WHERE tenant_id = $1 AND hour = $2`, [
            sys.tenant,
            at(10),
          ])
          .then((r) => r.rows),
      ).toEqual([{ status: 'delivered', updates: 1 }]);
    } finally {
      handling.open();
      resetting.open();
      doors.live = undefined;
      doors.reset = undefined;
    }
  });

  it('serves admins on the command line too, refusing a listener that is not a projection', () => {
    const wms = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'), '--tenant', sys.tenant, ...args],
        { env: { PATH: process.env.PATH, ...sys.env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000 },
      );
    const range = ['--from', at(0), '--to', at(6)];
    const notifier = wms('listeners:rebuild', '--listener', NOTIFIER, ...range);
    expect(notifier.status).toBe(1);
    expect(notifier.stderr).toContain(`${NOTIFIER} is not a projection`);
    const unknown = wms('listeners:rebuild', '--listener', 'nope', ...range);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no queued listener named nope');
  });
});
