import {
  DAY_MS,
  dayStart,
  DeadLetterService,
  ensureEventPartitions,
  type EventEnvelope,
  EventCatalog,
  EventStoreRepository,
  uuidV7Floor,
} from '@wms/events';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

/** A payload with `value(path)` at each of the given key paths (`lines[].sku` becomes one line). */
function payloadWith(paths: readonly string[], value: (path: string) => string): Record<string, unknown> {
  const payload: Record<string, unknown> = { warehouseId: 'WH1' };
  for (const path of paths) {
    const [head, field] = path.split('[].');
    if (field) payload[head] = [{ [field]: value(path) }, { [field]: `${value(path)}-other` }];
    else payload[head] = value(path);
  }
  return payload;
}

describe(`${EventStoreRepository.name} search and catch-up`, () => {
  let sys: TestSystem;
  let store: EventStoreRepository;
  let other: Awaited<ReturnType<TestSystem['newTenant']>>;
  const today = dayStart(Date.now());
  // Three partitions: today, two days ago and five days ago.
  const DAYS = [today + 3_600_000, today - 2 * DAY_MS + 3_600_000, today - 5 * DAY_MS + 3_600_000];

  const envelope = (
    tenantId: string,
    ms: number,
    name: string,
    payload: Record<string, unknown>,
    warehouseId: string | null = 'WH1',
  ): EventEnvelope => {
    const id = uuidv7({ msecs: ms });
    const at = new Date(ms).toISOString();
    return {
      id,
      name,
      version: EventCatalog.latestVersion(name)!,
      occurredAt: at,
      recordedAt: at,
      source: 'test',
      actor: { type: 'system', id: 'test' },
      tenantId,
      warehouseId,
      correlationId: id,
      causationId: null,
      aggregateType: 'test',
      aggregateId: `search/${id}`,
      streamPosition: 1,
      payload: { ...payload, warehouseId: warehouseId ?? 'WH1' },
    };
  };
  const ids = (page: { items: EventEnvelope[] }) => page.items.map((e) => e.id);

  beforeAll(async () => {
    sys = await startSystem();
    store = sys.worker!.get(EventStoreRepository);
    other = await sys.newTenant();
    const db = sys.worker!.get(DataSource);
    await db.transaction((m) => ensureEventPartitions(m, DAYS));
  });
  afterAll(async () => {
    await sys?.close();
  });

  describe('GET /events?key=', () => {
    it('finds an event by each key its type declares, in any case, across partitions', async () => {
      const tag = randomUUID().slice(0, 8).toUpperCase();
      const keyed = EventCatalog.definitions().filter((d) => d.keys?.length);
      expect(keyed.length).toBeGreaterThan(20);
      const events = keyed.map((d, i) =>
        envelope(
          sys.tenant,
          DAYS[i % DAYS.length] + i,
          d.name,
          payloadWith(d.keys!, (path) => `K${tag}-${d.name}-${path}`),
        ),
      );
      expect((await store.appendMany(events)).every((r) => r === true)).toBe(true);
      for (const [i, d] of keyed.entries())
        for (const path of d.keys!) {
          const key = `k${tag}-${d.name}-${path}`.toLowerCase();
          const found = await sys.get(`/events?key=${encodeURIComponent(key)}`);
          expect(found.status, `${d.name} ${path}`).toBe(200);
          expect(ids(found.body), `${d.name} by ${path}`).toEqual([events[i].id]);
        }
    });

    it("pages newest first through the partitions, within from/to, and never shows another tenant's or warehouse's", async () => {
      const key = `SO-KS-${randomUUID().slice(0, 8)}`;
      const order = (ms: number, tenant = sys.tenant, warehouse: string | null = 'WH1') =>
        envelope(tenant, ms, 'carrier.tracking_updated', tracking({ orderNumber: key }).payload, warehouse);
      const mine = DAYS.flatMap((day) => [order(day), order(day + 1000)]);
      const tenantWide = order(DAYS[0] + 2000, sys.tenant, null);
      // WH3 is none of the supervisor's warehouses; the other tenant's event has the same key.
      const hidden = [order(DAYS[0] + 3000, sys.tenant, 'WH3'), order(DAYS[1] + 3000, other.tenant)];
      await store.appendMany([...mine, tenantWide, ...hidden]);

      const newestFirst = [...mine, tenantWide].map((e) => e.id).sort((a, b) => (a < b ? 1 : -1));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { items: EventEnvelope[]; nextCursor: string | null } } = await sys.get(
          `/events?key=${key}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { authorization: `Bearer ${sys.tokens.supervisor}` },
        );
        expect(page.status).toBe(200);
        seen.push(...ids(page.body));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(newestFirst);

      const admin = await sys.get(`/events?key=${key.toLowerCase()}&limit=50`);
      expect(ids(admin.body)).toContain(hidden[0].id);
      expect(ids(admin.body)).not.toContain(hidden[1].id);
      const theirs = await sys.get(`/events?key=${key}`, { authorization: `Bearer ${other.tokens.admin}` });
      expect(ids(theirs.body)).toEqual([hidden[1].id]);

      // One day's window reads that day's events only.
      const from = new Date(dayStart(DAYS[1])).toISOString();
      const to = new Date(dayStart(DAYS[1]) + DAY_MS).toISOString();
      const day = await sys.get(`/events?key=${key}&from=${from}&to=${to}&limit=50`);
      expect(ids(day.body).sort()).toEqual(
        mine
          .slice(2, 4)
          .map((e) => e.id)
          .sort(),
      );
      const wh = await sys.get(`/events?key=${key}&warehouseId=WH3&limit=50`);
      expect(ids(wh.body)).toEqual([hidden[0].id]);
    });

    it('searches free text only within 24 hours, and says which window it read', async () => {
      const text = `needle-${randomUUID().slice(0, 8)}`;
      const recent = envelope(
        sys.tenant,
        Date.now() - 60_000,
        'carrier.tracking_updated',
        tracking({ detail: text }).payload,
      );
      const old = envelope(sys.tenant, DAYS[1], 'carrier.tracking_updated', tracking({ detail: text }).payload);
      await store.appendMany([recent, old]);

      const found = await sys.get(`/events?text=${text}`);
      expect(found.status).toBe(200);
      expect(ids(found.body)).toEqual([recent.id]);
      const { from, to } = found.body.textWindow;
      expect(Date.parse(to) - Date.parse(from)).toBe(DAY_MS);
      expect(Math.abs(Date.parse(to) - Date.now())).toBeLessThan(60_000);

      const wide = await sys.get(
        `/events?text=${text}&from=${new Date(DAYS[2]).toISOString()}&to=${new Date().toISOString()}`,
      );
      expect(wide.status).toBe(400);
      expect(wide.body.errors).toEqual([expect.objectContaining({ field: 'from' })]);
      const thatDay = new Date(DAYS[1] - 3_600_000).toISOString();
      const oldDay = await sys.get(`/events?text=${text}&from=${thatDay}&to=${new Date(DAYS[1] + 1).toISOString()}`);
      expect(ids(oldDay.body)).toEqual([old.id]);
    });

    it('indexes the keys of events stored before their keys were (events:index-keys), once', async () => {
      const key = `SO-IDX-${randomUUID().slice(0, 8)}`;
      const e = envelope(sys.tenant, DAYS[2], 'carrier.tracking_updated', tracking({ orderNumber: key }).payload);
      await store.appendMany([e]);
      await sys.db.query(`DELETE FROM event_keys WHERE event_id = $1`, [e.id]);
      expect(ids((await sys.get(`/events?key=${key}`)).body)).toEqual([]);
      for (let round = 0; round < 2; round++) {
        let after: string | null = uuidV7Floor(DAYS[2]);
        while (after && after <= e.id) after = (await store.indexKeysAfter(after, 1000)).last;
      }
      expect(ids((await sys.get(`/events?key=${key}`)).body)).toEqual([e.id]);
      const { rows } = await sys.db.query(`SELECT key FROM event_keys WHERE event_id = $1 ORDER BY key`, [e.id]);
      expect(rows.map((r) => r.key)).toEqual([key.toLowerCase(), 'jd000001'].sort());
    });

    it('finds dead letters by the keys of their event', async () => {
      const key = `SO-DLK-${randomUUID().slice(0, 8)}`;
      const e = envelope(sys.tenant, Date.now(), 'carrier.tracking_updated', tracking({ orderNumber: key }).payload);
      const id = await sys.worker!.get(DeadLetterService).record(
        {
          queue: 'events',
          name: 'test-listener',
          id: e.id,
          data: e,
          attemptsMade: 3,
          timestamp: Date.now(),
          stacktrace: [],
        },
        new Error('refused'),
      );
      const found = await sys.get(`/admin/dead-letters?key=${key.toLowerCase()}`);
      expect(found.status).toBe(200);
      expect(found.body.map((d: { id: string }) => d.id)).toEqual([id]);
      const theirs = await sys.get(`/admin/dead-letters?key=${key}`, { authorization: `Bearer ${other.tokens.admin}` });
      expect(theirs.body).toEqual([]);
    });
  });

  describe('GET /events/stream', () => {
    const operator = () => ({ authorization: `Bearer ${sys.tokens.operator}` });
    const page = async (after: string) => {
      const r = await sys.get(`/events/stream?after=${after}&limit=500`, operator());
      expect(r.status).toBe(200);
      return r.body as { items: EventEnvelope[]; cursor: string; hasMore: boolean };
    };

    it('gives an operator every event stored after the cursor, one a slower batch stored after a later one included', async () => {
      const start = (await page('now')).cursor;
      const earlier = envelope(sys.tenant, Date.now() - 5000, 'carrier.tracking_updated', tracking().payload);
      const later = envelope(sys.tenant, Date.now(), 'carrier.tracking_updated', tracking().payload);
      // The earlier event's batch takes its transaction first and is still storing when the later one is stored.
      const slow = sys.worker!.get(DataSource).createQueryRunner();
      await slow.startTransaction();
      try {
        expect(await store.appendMany([earlier], slow.manager)).toEqual([true]);
        expect(await store.appendMany([later])).toEqual([true]);
        const meanwhile = await page(start);
        expect(ids(meanwhile)).not.toContain(earlier.id);
        await slow.commitTransaction();
        // Every event once: a cursor neither passes the slower batch nor goes back over what it gave.
        const seen = ids(meanwhile);
        let cursor = meanwhile.cursor;
        await waitFor('both events in the catch-up', async () => {
          const next = await page(cursor);
          seen.push(...ids(next));
          cursor = next.cursor;
          return seen.includes(earlier.id) && seen.includes(later.id);
        });
        // (Other events of the tenant may come through too: this suite's dead letters publish their own.)
        expect(seen.filter((id) => id === earlier.id || id === later.id).sort()).toEqual([earlier.id, later.id].sort());
      } finally {
        if (slow.isTransactionActive) await slow.rollbackTransaction();
        await slow.release();
      }
    });

    it("pages in order with hasMore, never shows another tenant's or warehouse's, and refuses a bad or expired cursor", async () => {
      const start = (await page('now')).cursor;
      const mine = Array.from({ length: 7 }, (_, i) =>
        envelope(sys.tenant, Date.now() + i, 'carrier.tracking_updated', tracking().payload),
      );
      const hidden = [
        envelope(sys.tenant, Date.now(), 'carrier.tracking_updated', tracking().payload, 'WH3'),
        envelope(other.tenant, Date.now(), 'carrier.tracking_updated', tracking().payload),
      ];
      await store.appendMany(mine.slice(0, 3));
      await store.appendMany([...hidden, ...mine.slice(3)]);
      const seen: string[] = [];
      let cursor = start;
      await waitFor('every event of mine', async () => {
        const r = await sys.get(`/events/stream?after=${cursor}&limit=2`, operator());
        expect(r.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...ids(r.body));
        cursor = r.body.cursor;
        return seen.length >= mine.length && !r.body.hasMore;
      });
      // Stored order: the first batch, then the second one in id order.
      expect(seen).toEqual(mine.map((e) => e.id));

      const bad = await sys.get(`/events/stream?after=not-a-cursor`, operator());
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'after' })]);
      const [xid, id] = Buffer.from(cursor, 'base64url').toString().split('.');
      const expired = Buffer.from(`${xid}.${id}.${Date.now() - 73 * 3_600_000}`).toString('base64url');
      const gone = await sys.get(`/events/stream?after=${expired}`, operator());
      expect(gone.status).toBe(410);
      expect(gone.body.code).toBe('EVENTS.CURSOR_EXPIRED');
      const foreign = await sys.get(`/events/stream?after=now&warehouseId=WH3`, operator());
      expect(foreign.status).toBe(403);
    });
  });
});
