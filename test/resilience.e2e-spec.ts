import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { freePort, RedisServer } from './support/redis-server.js';
import { tracking, startSystem, TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';

/**
 * Invariant 1: an event accepted with 2xx is stored exactly once and broadcast, even when the worker
 * is SIGKILLed mid-load and when Redis (no persistence) is restarted mid-load.
 */
describe('nothing accepted is lost', () => {
  let redis: RedisServer;
  let sys: TestSystem;
  let worker: ChildProcess | undefined;
  const workerEnv = {
    WORKER_LOCK_MS: '2000',
    OUTBOX_REDRIVE_AFTER_MS: '1500',
    LOG_LEVEL: 'info',
    WORKER_CONCURRENCY: '50',
  };

  const startWorker = async () => {
    const child = spawn(process.execPath, [path.join(testEnv.root, 'dist/apps/worker/src/main.js')], {
      env: { PATH: process.env.PATH, ...sys.env, ...workerEnv },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-10_000)));
    await waitFor('the worker to start', () => out.includes('worker started'), 30_000);
    worker = child;
  };
  const killWorker = async () => {
    const child = worker!;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
  };

  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    sys = await startSystem({ worker: false, env: { REDIS_URL: redis.url, ...workerEnv, LOG_LEVEL: 'silent' } });
    await startWorker();
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) await killWorker();
    await sys?.close();
    await redis?.kill();
  });

  /** Publishes `total` events from `clients` concurrent scanners; calls `at[n]` once n events are accepted. */
  async function load(total: number, clients: number, prefix: string, at: Record<number, () => Promise<void>>) {
    const accepted: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const pending: Promise<void>[] = [];
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < total) {
          next++;
          const res = await sys.post('/events', tracking({ orderNumber: `${prefix}-${next % 10}` }));
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 202) accepted.push(res.body.id);
          const hook = at[accepted.length];
          if (hook) {
            delete at[accepted.length];
            pending.push(hook());
          }
        }
      }),
    );
    await Promise.all(pending);
    return { accepted, statuses: Object.fromEntries(statuses) };
  }

  const storedIds = async (prefix: string) =>
    (
      await sys.db.query(`SELECT id FROM event_store WHERE tenant_id = $1 AND payload->>'orderNumber' LIKE $2`, [
        sys.tenant,
        `${prefix}-%`,
      ])
    ).rows.map((r) => r.id as string);

  async function expectStoredOnce(prefix: string, accepted: string[]) {
    await waitFor(
      `all ${accepted.length} accepted ${prefix} events to be stored`,
      async () => (await storedIds(prefix)).length >= accepted.length,
      90_000,
      200,
    );
    const stored = await storedIds(prefix);
    expect(stored.length).toBe(accepted.length);
    expect(new Set(stored)).toEqual(new Set(accepted));
  }

  it('stores and broadcasts every accepted event once when the worker is SIGKILLed and restarted mid-load', async () => {
    const { received } = await sys.socket({ warehouseId: 'WH1' });
    const { accepted, statuses } = await load(1200, 16, 'SO-KILL', {
      300: killWorker,
      600: startWorker,
    });
    expect(statuses).toEqual({ 202: 1200 });
    await expectStoredOnce('SO-KILL', accepted);
    await waitFor(
      'every accepted event to be broadcast',
      () => accepted.every((id) => received.some((e) => e.id === id)),
      30_000,
      200,
    );
    await waitFor(
      'the outbox to drain',
      async () =>
        (
          await sys.db.query(`SELECT count(*)::int AS n FROM event_outbox WHERE envelope->>'tenantId' = $1`, [
            sys.tenant,
          ])
        ).rows[0].n === 0,
      30_000,
    );
  });

  it('stores every accepted event once when Redis is restarted empty mid-load, and broadcasting resumes', async () => {
    const { accepted, statuses } = await load(1200, 16, 'SO-REDIS', {
      300: () => redis.kill(),
      700: () => redis.start(),
    });
    // Redis being down never turns an accepted request into an error: the outbox in Postgres holds it.
    expect(statuses).toEqual({ 202: 1200 });
    await expectStoredOnce('SO-REDIS', accepted);

    const { received } = await sys.socket({ warehouseId: 'WH1' });
    const after = await load(50, 5, 'SO-AFTER', {});
    await waitFor(
      'broadcasts after the restart',
      () => after.accepted.every((id) => received.some((e) => e.id === id)),
      30_000,
      100,
    );
  });
});
