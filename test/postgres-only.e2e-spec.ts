import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracking, startSystem, TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';

describe('Postgres-only profile (BullMQ PostgreSQL backend, socket.io Postgres adapter)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ mode: 'postgres' });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('accepts, stores and broadcasts an event with no Redis at all', async () => {
    expect(sys.env.REDIS_URL).toBeUndefined();
    const { received } = await sys.socket({ warehouseId: 'WH1' });
    const res = await sys.post('/events', tracking({ orderNumber: 'SO-PG' }));
    expect(res.status).toBe(202);
    const event = await waitFor('the broadcast', () => received.find((e) => e.id === res.body.id));
    expect(event.payload).toMatchObject({ orderNumber: 'SO-PG' });
    const stored = await sys.get(`/events/${res.body.id}`);
    expect(stored.status).toBe(200);
    const health = await sys.get('/health');
    expect(health.body.info.queue).toMatchObject({ status: 'up', backend: 'postgres' });
  });

  it('processes a burst exactly once', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => sys.post('/events', tracking({ orderNumber: `SO-PGB${i % 5}` }))),
    );
    expect(results.every((r) => r.status === 202)).toBe(true);
    await waitFor(
      'all 100 stored',
      async () =>
        (
          await sys.db.query(
            `SELECT count(*)::int AS n FROM event_store WHERE tenant_id = $1 AND payload->>'orderNumber' LIKE 'SO-PGB%'`,
            [sys.tenant],
          )
        ).rows[0].n === 100,
      30_000,
    );
    await waitFor(
      'the outbox to drain',
      async () =>
        (
          await sys.db.query(`SELECT count(*)::int AS n FROM event_outbox WHERE envelope->>'tenantId' = $1`, [
            sys.tenant,
          ])
        ).rows[0].n === 0,
    );
  });
});
