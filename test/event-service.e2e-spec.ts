import { Injectable, Module } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  DomainError,
  EventCatalog,
  EventEnvelope,
  EventService,
  enrichEnvelope,
  recordBatchStatement,
} from '@wms/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const ctx = (tenantId: string) => ({ tenantId, actor: { type: 'user' as const, id: 'u-1' }, source: 'test' });
const adjusted = (sku: string, quantityDelta = -1) => ({
  warehouseId: 'WH1',
  sku,
  locationCode: 'A-01',
  lot: '',
  quantityDelta,
  reasonCode: 'damaged' as const,
});

const local: EventEnvelope[] = [];

@Injectable()
class LocalListener {
  @OnEvent('inventory.adjusted')
  adjusted(event: EventEnvelope) {
    local.push(event);
  }
}

@Module({ providers: [LocalListener] })
class LocalListenerModule {}

describe(EventService.name, () => {
  let sys: TestSystem;
  let events: EventService;
  beforeAll(async () => {
    sys = await startSystem({ imports: [LocalListenerModule] });
    events = sys.api.get(EventService);
    await sys.db.query(
      'CREATE TABLE IF NOT EXISTS test_stock (tenant_id text, sku text, qty int, PRIMARY KEY (tenant_id, sku))',
    );
  });
  afterAll(async () => {
    await sys?.close();
  });

  const stock = async (sku: string) =>
    (await sys.db.query('SELECT qty FROM test_stock WHERE tenant_id = $1 AND sku = $2', [sys.tenant, sku])).rows[0]
      ?.qty;
  const outboxFor = async (sku: string) =>
    (
      await sys.db.query(
        `SELECT count(*)::int AS n FROM event_outbox WHERE envelope->>'tenantId' = $1 AND envelope->'payload'->>'sku' = $2`,
        [sys.tenant, sku],
      )
    ).rows[0].n;
  const storedFor = async (sku: string) =>
    (
      await sys.db.query(`SELECT count(*)::int AS n FROM event_store WHERE tenant_id = $1 AND payload->>'sku' = $2`, [
        sys.tenant,
        sku,
      ])
    ).rows[0].n;

  it('records a batch without reading the idempotency keys of the retention window (no scan of idempotency_keys)', async () => {
    // A realistic table: thousands of keys of the window, a few from before keys were scoped (scope '').
    await sys.db.query(
      `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash)
       SELECT $1, 'integration:plan', 'plan-' || g, 'h' FROM generate_series(1, 5000) g
       UNION ALL SELECT $1, '', 'legacy-plan-' || g, 'h' FROM generate_series(1, 5) g
       ON CONFLICT DO NOTHING`,
      [sys.tenant],
    );
    await sys.db.query('ANALYZE idempotency_keys');
    const definition = EventCatalog.resolve('inventory.adjusted');
    const requests = Array.from({ length: 32 }, (_, i) => ({
      envelope: enrichEnvelope(definition, adjusted(`PLAN-${i}`), ctx(sys.tenant), { OFFLINE_ACCEPT_DAYS: 7 }),
      idempotency: { scope: 'integration:plan', key: `plan-new-${i}`, requestHash: 'h' },
    }));
    const { sql, params } = recordBatchStatement(requests);
    const c = await sys.db.connect();
    try {
      await c.query('BEGIN');
      const [{ 'QUERY PLAN': plan }] = (await c.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)).rows;
      const scans: string[] = [];
      const visit = (node: { 'Node Type': string; 'Relation Name'?: string; Plans?: unknown[] }) => {
        if (node['Relation Name'] === 'idempotency_keys') scans.push(node['Node Type']);
        for (const child of (node.Plans ?? []) as (typeof node)[]) visit(child);
      };
      visit(plan[0].Plan);
      // The check for pre-scoping keys probes the index of those keys only (migration 1764930000000).
      expect(scans).not.toContain('Seq Scan');
      expect(scans.length).toBeGreaterThan(0);
    } finally {
      await c.query('ROLLBACK');
      c.release();
    }
  });

  it('commits a domain change and its event together', async () => {
    const { result } = await events.transaction(async (tx) => {
      await tx.manager.query('INSERT INTO test_stock VALUES ($1, $2, 9)', [sys.tenant, 'SKU-TX']);
      return tx.publish('inventory.adjusted', adjusted('SKU-TX', 9), ctx(sys.tenant));
    });
    expect(await stock('SKU-TX')).toBe(9);
    expect(result.streamPosition).toBe(1);
    // Local (in-process) listeners hear it after commit.
    expect(local.map((e) => e.id)).toContain(result.id);
    await waitFor('the event to be stored', async () => (await storedFor('SKU-TX')) === 1);
  });

  it('rolls back the event with the domain change, leaving no outbox row and no stream position', async () => {
    await expect(
      events.transaction(async (tx) => {
        await tx.manager.query('INSERT INTO test_stock VALUES ($1, $2, 5)', [sys.tenant, 'SKU-ROLLBACK']);
        await tx.publish('inventory.adjusted', adjusted('SKU-ROLLBACK'), ctx(sys.tenant));
        throw new DomainError('INVENTORY.INSUFFICIENT_STOCK', 'not enough stock', 'conflict');
      }),
    ).rejects.toThrow('not enough stock');
    expect(await stock('SKU-ROLLBACK')).toBeUndefined();
    expect(local.some((e) => (e.payload as { sku: string }).sku === 'SKU-ROLLBACK')).toBe(false);
    expect(await outboxFor('SKU-ROLLBACK')).toBe(0);
    const streams = await sys.db.query(
      `SELECT 1 FROM event_streams WHERE tenant_id = $1 AND aggregate_id LIKE '%SKU-ROLLBACK%'`,
      [sys.tenant],
    );
    expect(streams.rowCount).toBe(0);
  });

  it('refuses an invalid payload even when it type-checks, and changes nothing', async () => {
    await expect(
      events.transaction(async (tx) => {
        await tx.manager.query('INSERT INTO test_stock VALUES ($1, $2, 1)', [sys.tenant, 'SKU-ZERO']);
        await tx.publish('inventory.adjusted', adjusted('SKU-ZERO', 0), ctx(sys.tenant));
      }),
    ).rejects.toMatchObject({ code: 'EVENTS.INVALID_PAYLOAD' });
    expect(await stock('SKU-ZERO')).toBeUndefined();
  });

  it('runs a unit of work once per Idempotency-Key and replays its result', async () => {
    const idempotency = { tenantId: sys.tenant, scope: 'user:test', key: 'uow-1', request: { sku: 'SKU-UOW' } };
    const work = () =>
      events.transaction(async (tx) => {
        await tx.manager.query(
          'INSERT INTO test_stock VALUES ($1, $2, 1) ON CONFLICT (tenant_id, sku) DO UPDATE SET qty = test_stock.qty + 1',
          [sys.tenant, 'SKU-UOW'],
        );
        const e = await tx.publish('inventory.adjusted', adjusted('SKU-UOW', 1), ctx(sys.tenant));
        return { eventId: e.id };
      }, idempotency);
    const results = await Promise.all([work(), work(), work()]);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.result.eventId)).size).toBe(1);
    expect(await stock('SKU-UOW')).toBe(1);
    await expect(
      events.transaction(async () => 'other', { ...idempotency, request: { sku: 'OTHER' } }),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY.KEY_REUSED' });
  });
});
