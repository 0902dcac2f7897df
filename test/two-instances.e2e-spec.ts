import { randomUUID } from 'node:crypto';
import { getQueueToken } from '@nestjs/bullmq';
import { CHECK_SYSTEM_ALERTS_JOB, EVENTS_MESSAGE, maintenanceSchedule, MAINTENANCE_QUEUE } from '@wms/events';
import type { Queue } from 'bullmq';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from './support/api-process.js';
import { startSystem, type TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const call = (base: string, method: string, route: string, token: string, body?: unknown) =>
  fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined) }));

/** Signs in with emails nobody has, on `base`, until the sign-in limit answers 429; how many tries it took. */
async function exhaustLogin(base: string, limit: number): Promise<number> {
  for (let n = 1; n <= limit + 1; n++) {
    const res = await call(base, 'POST', '/auth/login', '', {
      email: `nobody-${randomUUID()}@example.com`,
      password: 'wrong-password-1234',
    });
    if (res.status === 429) return n;
    expect(res.status).toBe(401);
  }
  throw new Error(`no 429 after ${limit + 1} sign-ins`);
}

// Each sign-in below the limit costs a password hash; a small limit keeps the test short.
const LOGIN_LIMIT = 3;
// Six processes start at once; on a machine busy with other work that takes longer than one alone.
const STARTUP_MS = 90_000;

describe('two api and two worker processes behave as one (Redis profile)', () => {
  let sys: TestSystem;
  let a: ApiProcess;
  let b: ApiProcess;
  let workers: WorkerProcess[] = [];
  let postgresOnly: ApiProcess[] = [];
  let maintenance: Queue;
  const sockets: Socket[] = [];
  const effects = `test_two_instances_effects_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    sys = await startSystem({
      worker: false,
      env: {
        // A check every second, and a threshold every stored event crosses: the alert condition holds at once.
        ALERT_CHECK_INTERVAL_S: '1',
        ALERT_P99_LATENCY_MS: '1',
        // A killed worker's jobs are taken over within seconds.
        WORKER_LOCK_MS: '2000',
        OUTBOX_REDRIVE_AFTER_MS: '1500',
        // Six processes and this one share the machine's Postgres (100 connections, other suites' too): small pools.
        WORKER_CONCURRENCY: '10',
        // Only the change notice can explain a refusal within a second.
        AUTH_CACHE_MS: '60000',
        SOCKET_REAUTH_MS: '600000',
      },
    });
    await sys.db.query(`CREATE TABLE ${effects} (event_id uuid NOT NULL, pid int NOT NULL)`);
    const apiEnv: Record<string, string> = { ...sys.env, LOGIN_RATE_PER_MINUTE: String(LOGIN_LIMIT) };
    // The Postgres-only profile's pair: same database, no Redis, a prefix of its own.
    const postgresEnv: Record<string, string> = {
      ...apiEnv,
      QUEUE_CONNECTION: 'postgres',
      QUEUE_PREFIX: `${apiEnv.QUEUE_PREFIX}pg`,
    };
    delete postgresEnv.REDIS_URL;
    [workers, [a, b], postgresOnly] = await Promise.all([
      Promise.all([0, 1].map(() => startWorkerProcess({ ...sys.env, TEST_EFFECTS_TABLE: effects }, STARTUP_MS))),
      Promise.all([startApiProcess(apiEnv, STARTUP_MS), startApiProcess(apiEnv, STARTUP_MS)]),
      Promise.all([startApiProcess(postgresEnv, STARTUP_MS), startApiProcess(postgresEnv, STARTUP_MS)]),
    ]);
    maintenance = sys.api.get<Queue>(getQueueToken(MAINTENANCE_QUEUE), { strict: false });
  }, STARTUP_MS + 30_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await Promise.all([a?.stop(), b?.stop(), ...postgresOnly.map((p) => p.stop()), ...workers.map((w) => w.stop())]);
    await sys?.db.query(`DROP TABLE IF EXISTS ${effects}`);
    await sys?.close();
  });

  async function socketOn(base: string, token: string) {
    const socket = io(base, { transports: ['websocket'], auth: { token }, reconnection: false });
    sockets.push(socket);
    const received: { id: string }[] = [];
    socket.on(EVENTS_MESSAGE, (batch: { id: string }[]) => received.push(...batch));
    expect(await socket.timeout(5000).emitWithAck('subscribe', { warehouseId: 'WH1' })).toMatchObject({ ok: true });
    const closed = new Promise<number>((resolve) => socket.on('disconnect', () => resolve(Date.now())));
    return { socket, received, closed };
  }

  const systemAlerts = async () =>
    (
      await sys.db.query(
        `SELECT e.payload->>'kind' AS kind
         FROM (
           SELECT id, envelope->'payload' AS payload FROM event_outbox
           WHERE envelope->>'tenantId' = $1 AND envelope->>'name' = 'system.alert'
           UNION
           SELECT id, payload FROM event_store WHERE tenant_id = $1 AND name = 'system.alert'
         ) e`,
        [sys.tenant],
      )
    ).rows.map((r) => r.kind as string);

  const checksProcessedSince = async (since: number) =>
    (await maintenance.getJobs(['completed'])).filter(
      (j) => j.name === CHECK_SYSTEM_ALERTS_JOB && (j.processedOn ?? 0) >= since,
    );

  it.each([
    ['Redis', () => [a, b]],
    ['Postgres-only', () => postgresOnly],
  ])('spends a rate limit on A and B alike (%s profile)', async (_, pair) => {
    // The sign-in limit stays exhausted for a minute on every instance of the profile: nothing below signs in.
    const [first, second] = pair();
    // The instance in this process (startSystem's) signed in too, on the same counter: the limit may come sooner.
    expect(await exhaustLogin(first.url, LOGIN_LIMIT)).toBeLessThanOrEqual(LOGIN_LIMIT + 1);
    const onSecond = await call(second.url, 'POST', '/auth/login', '', {
      email: `nobody-${randomUUID()}@example.com`,
      password: 'wrong-password-1234',
    });
    expect(onSecond.status).toBe(429);
  });

  it('delivers events accepted by api A to a dashboard connected to api B, and the other way round', async () => {
    const onB = await socketOn(b.url, sys.tokens.supervisor);
    const onA = await socketOn(a.url, sys.tokens.supervisor);
    const viaA: string[] = [];
    const viaB: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await call(a.url, 'POST', '/events', sys.tokens.admin, tracking({ orderNumber: `SO-A-${i}` }));
      expect(r.status).toBe(202);
      viaA.push(r.body.id);
      const s = await call(b.url, 'POST', '/events', sys.tokens.admin, tracking({ orderNumber: `SO-B-${i}` }));
      expect(s.status).toBe(202);
      viaB.push(s.body.id);
    }
    await waitFor('B’s dashboard to get every event accepted by A', () =>
      viaA.every((id) => onB.received.some((e) => e.id === id)),
    );
    await waitFor('A’s dashboard to get every event accepted by B', () =>
      viaB.every((id) => onA.received.some((e) => e.id === id)),
    );
  });

  it('keeps one job scheduler per maintenance job, upserted by both workers, and runs each tick once', async () => {
    const schedulers = await maintenance.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, Number(s.every)]).sort()).toEqual(
      Object.entries(maintenanceSchedule(sys.config))
        .map(([name, { every }]) => [name, every])
        .sort(),
    );
    const since = Date.now();
    await waitFor('four alert checks', async () => (await checksProcessedSince(since)).length >= 4, 20_000, 100);
    const elapsedS = (Date.now() - since) / 1000;
    const runs = await checksProcessedSince(since);
    // One run per one-second tick, whichever worker takes it.
    expect(runs.length).toBeLessThanOrEqual(Math.floor(elapsedS) + 1);
    expect(new Set(runs.map((j) => j.id)).size).toBe(runs.length);
  });

  it('raises a system alert once, not once per worker, while its condition holds', async () => {
    // The events of the first test were stored more than 1 ms after they were accepted: the latency threshold holds.
    await waitFor('the latency alert', async () => (await systemAlerts()).includes('latency'), 20_000, 100);
    const since = Date.now();
    await waitFor('four more alert checks', async () => (await checksProcessedSince(since)).length >= 4, 20_000, 100);
    expect((await systemAlerts()).filter((k) => k === 'latency')).toEqual(['latency']);
  });

  it('refuses a credential revoked via A on B within a second, and closes B’s socket of it', async () => {
    const device = (
      await call(a.url, 'POST', '/admin/devices', sys.tokens.admin, { name: 'scanner 2i', warehouses: ['WH1'] })
    ).body;
    expect((await call(b.url, 'GET', '/warehouses/WH1/stock', device.token)).status).toBe(200);
    const live = await socketOn(b.url, device.token);
    const t0 = Date.now();
    expect((await call(a.url, 'DELETE', `/admin/devices/${device.id}`, sys.tokens.admin)).status).toBe(200);
    await waitFor(
      'B to refuse the revoked device',
      async () => (await call(b.url, 'GET', '/warehouses/WH1/stock', device.token)).status === 401,
      Math.max(0, t0 + 1000 - Date.now()),
      10,
    );
    const closedAt = await Promise.race([live.closed, new Promise<number>((r) => setTimeout(() => r(0), 1000))]);
    expect(closedAt, 'B’s socket of the revoked device was not closed').toBeGreaterThan(0);
    expect(closedAt - t0).toBeLessThan(1000);
  });

  it('stores and handles every accepted event exactly once when one of the two workers is SIGKILLed mid-burst', async () => {
    const total = 300;
    const accepted: string[] = [];
    const statuses: Record<number, number> = {};
    let next = 0;
    let killed: Promise<void> | undefined;
    await Promise.all(
      Array.from({ length: 12 }, async (_, client) => {
        const base = client % 2 ? b.url : a.url;
        while (next < total) {
          const n = next++;
          const res = await call(
            base,
            'POST',
            '/events',
            sys.tokens.admin,
            tracking({ orderNumber: `SO-K-${n % 20}` }),
          );
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status === 202) accepted.push(res.body.id);
          if (accepted.length === 100 && !killed) killed = workers[0].kill();
        }
      }),
    );
    await killed;
    expect(statuses).toEqual({ 202: total });
    const counts = async () =>
      (
        await sys.db.query(
          `SELECT (SELECT count(*)::int FROM event_store WHERE id = ANY($1::uuid[])) AS stored,
                  (SELECT count(*)::int FROM ${effects} WHERE event_id = ANY($1::uuid[])) AS handled,
                  (SELECT count(DISTINCT event_id)::int FROM ${effects} WHERE event_id = ANY($1::uuid[])) AS events`,
          [accepted],
        )
      ).rows[0] as { stored: number; handled: number; events: number };
    await waitFor(
      'every accepted event to be stored and handled',
      async () => {
        const c = await counts();
        return c.stored === total && c.events === total;
      },
      40_000,
      200,
    );
    // Nothing handled twice, even the jobs the killed worker held.
    expect(await counts()).toEqual({ stored: total, handled: total, events: total });
  });
});
