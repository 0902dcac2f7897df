import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { checkDateRange } from '../dates/strict-dates.js';
import { DomainError } from '../errors/domain-error.js';
import { containing, SqlWhere } from '../database/sql-where.js';
import { MicroBatcher } from '../database/micro-batcher.js';
import { preparedQuery } from '../database/prepared.js';
import { EventsConfig } from '../config/events-config.js';
import { countStoredSql } from '../rollups/rollups.repository.js';
import { declareExempt } from '../retention/table-lifetimes.js';
import { businessKeys, normalizeKey } from '../catalog/event-catalog.js';
import { OCCURRED_AT_AHEAD_MS } from '../publishing/occurred-at-window.js';
import {
  DAY_MS,
  dayStart,
  EventPartitions,
  isMissingPartition,
  uuidV7Floor,
  uuidV7Millis,
} from './event-partitions.js';
import { indexKeysSql } from './event-keys.js';
import { feedStoredSql } from './event-feed.js';

/**
 * An event accepted on a day past the retention whose partition is gone (archived, then dropped): storing it would
 * make the archived day again, to be archived twice. It is not stored; its job goes to the dead letters with this.
 */
const pastRetention = (e: EventEnvelope, day: number, days: number) =>
  new UnrecoverableError(
    `event ${e.id} was accepted on ${new Date(day).toISOString().slice(0, 10)}, more than EVENT_RETENTION_DAYS ` +
      `(${days}) days ago; that day's partition is archived (or was never made) and is not made again, so the event ` +
      `is not stored`,
  );

export interface EventQuery {
  tenantId: string;
  /** The warehouses the reader may see; tenant-wide events (no warehouse) are visible to every reader. */
  visibleWarehouses: string[] | 'all';
  name?: string;
  aggregateType?: string;
  aggregateId?: string;
  warehouseId?: string;
  /** occurredAt bounds, ISO-8601, inclusive from, exclusive to */
  from?: string;
  to?: string;
  /** id of the last event of the previous page (ids are UUIDv7, so they order by time) */
  after?: string;
  correlationId?: string;
  /** A business key the catalog declares (SKU, order, ASN, carton, location, lot, tracking number), any case. */
  key?: string;
  /**
   * Text anywhere in the payload or the aggregate id: the fallback for what is not a key, over at most
   * TEXT_SEARCH_WINDOW_MS of occurredAt (the last 24 hours when no range is given).
   */
  text?: string;
  limit: number;
}

export interface EventPage {
  items: EventEnvelope[];
  nextCursor: string | null;
  /** With `text`: the occurredAt window the text was looked for in; text search never reads more than that. */
  textWindow?: { from: string; to: string };
}

/** The longest occurredAt window a free-text search reads: it reads every payload in it. */
export const TEXT_SEARCH_WINDOW_MS = DAY_MS;

/** Where a catch-up page ended: resume with `after=` it. Opaque to clients. */
export interface CatchUpQuery {
  tenantId: string;
  visibleWarehouses: string[] | 'all';
  warehouseId?: string;
  /** A cursor from a previous page, or 'now' to start from this moment. */
  after: string;
  limit: number;
}

export interface CatchUpPage {
  /** Oldest stored first: the order events were stored in, not their ids' order. */
  items: EventEnvelope[];
  /** Resume with it, even when items is empty: it moves on as storing goes on. */
  cursor: string;
  /** True when more events are ready now: ask again at once. */
  hasMore: boolean;
}

interface FeedPosition {
  xid: string;
  eventId: string;
  /** When the position was stored (ms): how old a cursor is. */
  at: number;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const encodeCursor = (p: FeedPosition) => Buffer.from(`${p.xid}.${p.eventId}.${p.at}`).toString('base64url');

function decodeCursor(cursor: string): FeedPosition {
  const [xid, eventId, at] = Buffer.from(cursor, 'base64url').toString('latin1').split('.');
  const valid =
    /^[A-Za-z0-9_-]{1,120}$/.test(cursor) &&
    /^\d{1,20}$/.test(xid ?? '') &&
    BigInt(xid) < 2n ** 63n &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(eventId ?? '') &&
    /^\d{13}$/.test(at ?? '');
  if (!valid)
    throw new DomainError('EVENTS.INVALID_CURSOR', 'after must be a cursor from a previous page, or now', 'invalid', [
      { field: 'after', reason: 'is not a cursor from a previous page (or now)' },
    ]);
  return { xid, eventId, at: Number(at) };
}

const COLUMNS = [
  'id',
  'tenant_id',
  'name',
  'version',
  'occurred_at',
  'recorded_at',
  'source',
  'actor',
  'warehouse_id',
  'correlation_id',
  'causation_id',
  'aggregate_type',
  'aggregate_id',
  'stream_position',
  'payload',
];

interface EventRow {
  id: string;
  tenant_id: string;
  name: string;
  version: number;
  occurred_at: Date;
  recorded_at: Date;
  source: string;
  actor: EventEnvelope['actor'];
  warehouse_id: string | null;
  correlation_id: string;
  causation_id: string | null;
  aggregate_type: string;
  aggregate_id: string;
  stream_position: string;
  payload: Record<string, unknown>;
}

const toEnvelope = (r: EventRow): EventEnvelope => ({
  id: r.id,
  name: r.name,
  version: r.version,
  occurredAt: r.occurred_at.toISOString(),
  recordedAt: r.recorded_at.toISOString(),
  source: r.source,
  actor: r.actor,
  tenantId: r.tenant_id,
  warehouseId: r.warehouse_id,
  correlationId: r.correlation_id,
  causationId: r.causation_id,
  aggregateType: r.aggregate_type,
  aggregateId: r.aggregate_id,
  streamPosition: Number(r.stream_position),
  payload: r.payload,
});

/**
 * The occurredAt window a text search reads: the range asked for when it is at most TEXT_SEARCH_WINDOW_MS (400
 * naming `from` otherwise), the window ending at `to` (or now) when a bound is missing.
 */
function textWindow(q: Pick<EventQuery, 'from' | 'to'>): { from: string; to: string } {
  const to = q.to ? Date.parse(q.to) : Date.now();
  const from = q.from ? Date.parse(q.from) : to - TEXT_SEARCH_WINDOW_MS;
  if (to - from > TEXT_SEARCH_WINDOW_MS) {
    const reason =
      'text search reads at most 24 hours of events: narrow from/to to 24 hours, or search by key= ' +
      '(SKU, order, ASN, carton, location, lot, tracking number) over any range';
    throw new DomainError('EVENTS.TEXT_WINDOW_TOO_WIDE', reason, 'invalid', [{ field: 'from', reason }]);
  }
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** Events of one tenant that occurred in [from, to], optionally of one name, aggregate or warehouse. */
export interface OccurredRange {
  tenantId: string;
  from: string;
  to: string;
  name?: string;
  aggregateType?: string;
  aggregateId?: string;
  warehouseId?: string;
}

/** One tenant's events of some names that occurred in [from, to): what a listener's rebuild covers. */
export interface ListenerRange {
  tenantId: string;
  names: string[];
  from: string;
  to: string;
}

/** Where a page over a ListenerRange ended: pages go in (occurredAt, id) order. */
export interface RangeCursor {
  occurredAt: string;
  id: string;
}

const rangeWhere = (q: ListenerRange, after: RangeCursor | undefined) =>
  new SqlWhere()
    .add('tenant_id = ?', q.tenantId)
    .add('name = ANY(?)', q.names)
    .add('occurred_at >= ?', q.from)
    .add('occurred_at < ?', q.to)
    .addEach('(occurred_at, id) > (?::timestamptz, ?::uuid)', [after?.occurredAt, after?.id]);

declareExempt('event_store', 'the history itself: only whole partitions leave it, archived and verified first');

/** The append-only event store. */
@Injectable()
export class EventStoreRepository {
  // Many concurrent jobs' events go out in one multi-row INSERT.
  private readonly appender = new MicroBatcher<EventEnvelope, boolean>((events) => this.appendMany(events));

  constructor(
    private readonly db: DataSource,
    private readonly partitions: EventPartitions,
    private readonly config: EventsConfig,
  ) {}

  /** Stores the event unless it is already stored; true when this call stored it. */
  appendOnce(event: EventEnvelope): Promise<boolean> {
    return this.appender.push(event);
  }

  /**
   * Stores each event unless it is already stored: true when this call stored it, an `UnrecoverableError` (its job
   * goes to the dead letters) for one whose day is past the retention and has no partition — archived and dropped.
   * With `m`, in the caller's transaction (the events count as stored when it commits).
   */
  async appendMany(events: EventEnvelope[], m: EntityManager = this.db.manager): Promise<(boolean | Error)[]> {
    // In id order: two batches racing to store the same events wait for each other instead of deadlocking.
    const unique = [...new Map(events.map((e) => [e.id, e])).values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const refused = new Map<string, Error>();
    const inserted = await this.insert(unique, m).catch(async (error: unknown) => {
      // Partitions are made days ahead; an event beyond them (an api's clock far ahead, the job down for
      // days) gets its partition now and is stored.
      if (!isMissingPartition(error)) throw error;
      const { refused: days } = await this.partitions.ensureFor(unique.map((e) => e.id));
      for (const e of unique) {
        const day = dayStart(uuidV7Millis(e.id));
        if (days.includes(day)) refused.set(e.id, pastRetention(e, day, this.config.EVENT_RETENTION_DAYS));
      }
      const rest = unique.filter((e) => !refused.has(e.id));
      return rest.length ? this.insert(rest, m) : [];
    });
    const stored = new Set(inserted.map((r) => r.id));
    // With a duplicate id in one batch, only its first occurrence counts as stored.
    return events.map((e) => refused.get(e.id) ?? stored.delete(e.id));
  }

  /**
   * Inserts the events not yet stored and, in the same statement, counts exactly those in the rollups (their
   * deltas: appends no concurrent batch waits for), so a redelivered event is neither stored nor counted twice.
   */
  private insert(events: EventEnvelope[], m: EntityManager): Promise<{ id: string }[]> {
    const rows = events.map((e) => ({ ...e, keys: businessKeys(e.name, e.version, e.payload) }));
    // Outside a caller's transaction, prepared: planning this statement cost as much as running it.
    const query = (sql: string, params: unknown[]): Promise<{ id: string }[]> =>
      m === this.db.manager ? preparedQuery(this.db, sql, params) : m.query(sql, params);
    return query(
      `WITH input AS (
       SELECT *
       FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, "tenantId" text, name text, version int, "occurredAt" timestamptz,
            "recordedAt" timestamptz, source text, actor jsonb, "warehouseId" text, "correlationId" uuid, "causationId" uuid,
            "aggregateType" text, "aggregateId" text, "streamPosition" bigint, payload jsonb, keys jsonb)
       ),
       stored AS (
       INSERT INTO event_store (${COLUMNS.join(', ')})
       SELECT e.id, e."tenantId", e.name, e.version, e."occurredAt", e."recordedAt", e.source, e.actor, e."warehouseId",
              e."correlationId", e."causationId", e."aggregateType", e."aggregateId", e."streamPosition", e.payload
       FROM input e
       ON CONFLICT (id) DO NOTHING
       RETURNING id, tenant_id, warehouse_id, name, recorded_at, stored_at
       )${indexKeysSql('stored', 'input')}${feedStoredSql('stored')}${countStoredSql('stored')}
       SELECT id FROM stored`,
      [JSON.stringify(rows)],
    );
  }

  /**
   * Indexes the business keys of a page of stored events after the id `after` (all tenants, id order), for events
   * stored before their keys were declared or indexed: `events:index-keys`. Returns the page's last id, or null at the end.
   */
  async indexKeysAfter(
    after: string | null,
    limit: number,
  ): Promise<{ last: string | null; events: number; keys: number }> {
    const rows: EventRow[] = await this.db.query(
      `SELECT ${COLUMNS.join(', ')} FROM event_store ${after ? 'WHERE id > $2' : ''} ORDER BY id LIMIT $1`,
      after ? [limit, after] : [limit],
    );
    if (!rows.length) return { last: null, events: 0, keys: 0 };
    const keyed = rows.map(toEnvelope).flatMap((e) =>
      businessKeys(e.name, e.version, e.payload).map((key) => ({
        tenantId: e.tenantId,
        key,
        id: e.id,
        warehouseId: e.warehouseId,
      })),
    );
    const inserted: unknown[] = keyed.length
      ? await this.db.query(
          `INSERT INTO event_keys (tenant_id, key, event_id, warehouse_id)
           SELECT k."tenantId", k.key, k.id, k."warehouseId"
           FROM jsonb_to_recordset($1::jsonb) AS k("tenantId" text, key text, id uuid, "warehouseId" text)
           ON CONFLICT DO NOTHING
           RETURNING 1`,
          [JSON.stringify(keyed)],
        )
      : [];
    return { last: rows[rows.length - 1].id, events: rows.length, keys: inserted.length };
  }

  async findById(tenantId: string, id: string, visibleWarehouses: string[] | 'all' = 'all'): Promise<EventEnvelope> {
    const rows: EventRow[] = await this.db.query(
      `SELECT ${COLUMNS.join(', ')} FROM event_store WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    const visible =
      rows.length &&
      (visibleWarehouses === 'all' ||
        rows[0].warehouse_id === null ||
        visibleWarehouses.includes(rows[0].warehouse_id));
    if (!visible)
      throw new DomainError('EVENTS.NOT_FOUND', `no event ${id} that you may see`, 'not_found', [
        { field: 'id', reason: 'no such event' },
      ]);
    return toEnvelope(rows[0]);
  }

  /**
   * Newest first, cursor-paginated by id; from/to are checked strictly (400 naming the bound). Reads only the
   * partitions the occurredAt range can be in; with `key`, only the key's index entries; with `text`, at most a
   * TEXT_SEARCH_WINDOW_MS window.
   */
  async find(q: EventQuery): Promise<EventPage> {
    checkDateRange(q);
    const window = q.text ? textWindow(q) : undefined;
    const range = window ?? { from: q.from, to: q.to };
    const ids = this.idBounds(range);
    const where = new SqlWhere()
      .scope({ tenantId: q.tenantId, warehouses: q.visibleWarehouses })
      .add('name = ?', q.name)
      .add('aggregate_type = ?', q.aggregateType)
      .add('aggregate_id = ?', q.aggregateId)
      .add('warehouse_id = ?', q.warehouseId)
      .add('occurred_at >= ?', range.from)
      .add('occurred_at < ?', range.to)
      .add('correlation_id = ?', q.correlationId)
      .add(`(aggregate_id ILIKE ? OR payload::text ILIKE ?)`, containing(q.text));
    let rows: EventRow[];
    if (q.key !== undefined) {
      // The key's entries, newest first through the partitions in order, each joined to its event by id.
      const keyed = new SqlWhere(where.params)
        .scope({ tenantId: q.tenantId, warehouses: q.visibleWarehouses, warehouseId: q.warehouseId })
        .add('key = ?', normalizeKey(q.key))
        .add('event_id >= ?', ids.from)
        .add('event_id < ?', ids.to)
        .add('event_id < ?', q.after);
      rows = await this.db.query(
        `SELECT s.*
         FROM (SELECT event_id FROM event_keys WHERE ${keyed.sql}) k
         CROSS JOIN LATERAL (SELECT ${COLUMNS.join(', ')} FROM event_store WHERE id = k.event_id AND ${where.sql}) s
         ORDER BY k.event_id DESC
         LIMIT ${where.param(q.limit + 1)}`,
        where.params,
      );
    } else {
      where.add('id >= ?', ids.from).add('id < ?', ids.to).add('id < ?', q.after);
      rows = await this.db.query(
        `SELECT ${COLUMNS.join(', ')}
         FROM event_store
         WHERE ${where.sql}
         ORDER BY id DESC
         LIMIT ${where.param(q.limit + 1)}`,
        where.params,
      );
    }
    const items = rows.slice(0, q.limit).map(toEnvelope);
    return {
      items,
      nextCursor: rows.length > q.limit ? items[items.length - 1].id : null,
      ...(window ? { textWindow: window } : {}),
    };
  }

  /**
   * The ids an event that occurred in [from, to) can have: its id was minted when it was accepted, at most
   * OFFLINE_ACCEPT_DAYS after it occurred and at most 24 hours before (occurred-at-window.ts); a minute more each
   * way for clocks. Bounding id lets Postgres skip every other partition.
   */
  private idBounds(range: { from?: string; to?: string }): { from?: string; to?: string } {
    const slack = 60_000;
    return {
      from: range.from ? uuidV7Floor(Date.parse(range.from) - OCCURRED_AT_AHEAD_MS - slack) : undefined,
      to: range.to ? uuidV7Floor(Date.parse(range.to) + this.config.OFFLINE_ACCEPT_DAYS * DAY_MS + slack) : undefined,
    };
  }

  /**
   * The next page of a tenant's stored events in the order they were stored, after a cursor — including an event
   * accepted earlier than one already seen but stored later (the worker stores batches concurrently). A page stops
   * before the oldest transaction still running (the snapshot's xmin, read in the same statement): every feed row
   * below it is committed or never will be, so a cursor never passes an event that is still being stored.
   */
  async catchUp(q: CatchUpQuery): Promise<CatchUpPage> {
    const from = q.after === 'now' ? undefined : decodeCursor(q.after);
    const hours = this.config.CATCH_UP_RETENTION_HOURS;
    if (from && from.at < Date.now() - hours * 3600_000)
      throw new DomainError(
        'EVENTS.CURSOR_EXPIRED',
        `this cursor is older than CATCH_UP_RETENTION_HOURS (${hours} h): fetch the gap by time with ` +
          'GET /events?from=…, then resume with after=now',
        'gone',
        [{ field: 'after', reason: `is older than ${hours} hours` }],
      );
    const feed = new SqlWhere()
      .scope({ tenantId: q.tenantId, warehouses: q.visibleWarehouses, warehouseId: q.warehouseId })
      .addEach('(stored_xid, event_id) > (?::xid8, ?::uuid)', [from?.xid, from?.eventId]);
    const rows: (Partial<EventRow> & { xid: string; feed_event_id: string; at: string; xmin: string })[] =
      await this.db.query(
        `WITH w AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin, now() AS at)
         SELECT f.stored_xid::text AS xid, f.event_id AS feed_event_id, w.xmin::text AS xmin,
                (extract(epoch FROM coalesce(f.stored_at, w.at)) * 1000)::bigint::text AS at, e.*
         FROM w
         LEFT JOIN LATERAL (
           SELECT stored_xid, event_id, stored_at FROM event_feed
           WHERE ${from ? '' : 'false AND '}${feed.sql} AND stored_xid < w.xmin
           ORDER BY stored_xid, event_id
           LIMIT ${feed.param(q.limit + 1)}
         ) f ON true
         LEFT JOIN LATERAL (SELECT ${COLUMNS.join(', ')} FROM event_store WHERE id = f.event_id) e ON true
         ORDER BY f.stored_xid, f.event_id`,
        feed.params,
      );
    const page = rows.filter((r) => r.xid !== null).slice(0, q.limit);
    const hasMore = rows.length > q.limit;
    const last = page[page.length - 1];
    const position: FeedPosition =
      hasMore && last
        ? { xid: last.xid, eventId: last.feed_event_id, at: Number(last.at) }
        : // Everything below xmin was read: resume at xmin, whose own rows may still be coming.
          { xid: rows[0].xmin, eventId: NIL_UUID, at: Number(rows[rows.length - 1].at) };
    return {
      // A feed row whose event left the store (archived) has nothing to show; its position still counts.
      items: page.filter((r) => r.id).map((r) => toEnvelope(r as EventRow)),
      cursor: encodeCursor(position),
      hasMore,
    };
  }

  /** A page of stored events in an occurred-at range (both ends included), oldest first, after the id `after`. */
  async pageByOccurredAt(q: OccurredRange, after: string | undefined, limit: number): Promise<EventEnvelope[]> {
    const where = new SqlWhere()
      .add('tenant_id = ?', q.tenantId)
      .add('occurred_at >= ?', q.from)
      .add('occurred_at <= ?', q.to)
      .add('id > ?', after)
      .add('name = ?', q.name)
      .add('aggregate_type = ?', q.aggregateType)
      .add('aggregate_id = ?', q.aggregateId)
      .add('warehouse_id = ?', q.warehouseId);
    const rows: EventRow[] = await this.db.query(
      `SELECT ${COLUMNS.join(', ')}
       FROM event_store
       WHERE ${where.sql}
       ORDER BY id
       LIMIT ${where.param(limit)}`,
      where.params,
    );
    return rows.map(toEnvelope);
  }

  /**
   * A page of a ListenerRange, in (occurredAt, id) order after `after`: a keyset on the (tenant_id, occurred_at)
   * index, so each page of a long range costs the same. `m` reads in the caller's transaction.
   */
  async pageInRange(
    q: ListenerRange,
    after: RangeCursor | undefined,
    limit: number,
    m: EntityManager = this.db.manager,
  ): Promise<EventEnvelope[]> {
    const where = rangeWhere(q, after);
    const rows: EventRow[] = await m.query(
      `SELECT ${COLUMNS.join(', ')}
       FROM event_store
       WHERE ${where.sql}
       ORDER BY occurred_at, id
       LIMIT ${where.param(limit)}`,
      where.params,
    );
    return rows.map(toEnvelope);
  }

  /** Like pageInRange, only the keys: what a rebuild resets. */
  async keysInRange(
    q: ListenerRange,
    after: RangeCursor | undefined,
    limit: number,
    m: EntityManager = this.db.manager,
  ): Promise<RangeCursor[]> {
    const where = rangeWhere(q, after);
    const rows: { id: string; occurred_at: Date }[] = await m.query(
      `SELECT id, occurred_at FROM event_store WHERE ${where.sql} ORDER BY occurred_at, id LIMIT ${where.param(limit)}`,
      where.params,
    );
    return rows.map((r) => ({ occurredAt: r.occurred_at.toISOString(), id: r.id }));
  }
}
