import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { checkDateRange } from '../dates/strict-dates.js';
import { DomainError } from '../errors/domain-error.js';
import { containing, SqlWhere } from '../database/sql-where.js';
import { MicroBatcher } from '../database/micro-batcher.js';
import { EventsConfig } from '../config/events-config.js';
import { countStoredSql } from '../rollups/rollups.repository.js';
import { declareExempt } from '../retention/table-lifetimes.js';
import { dayStart, EventPartitions, isMissingPartition, uuidV7Millis } from './event-partitions.js';

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
  /** Only events newer than this id, oldest first: how a dashboard catches up after a reconnect. */
  since?: string;
  correlationId?: string;
  /** Text anywhere in the payload or the aggregate id (SKU, order number, lot …). */
  text?: string;
  limit: number;
}

export interface EventPage {
  items: EventEnvelope[];
  nextCursor: string | null;
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
   */
  async appendMany(events: EventEnvelope[]): Promise<(boolean | Error)[]> {
    // In id order: two batches racing to store the same events wait for each other instead of deadlocking.
    const unique = [...new Map(events.map((e) => [e.id, e])).values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const refused = new Map<string, Error>();
    const inserted = await this.insert(unique).catch(async (error: unknown) => {
      // Partitions are made days ahead; an event beyond them (an api's clock far ahead, the job down for
      // days) gets its partition now and is stored.
      if (!isMissingPartition(error)) throw error;
      const { refused: days } = await this.partitions.ensureFor(unique.map((e) => e.id));
      for (const e of unique) {
        const day = dayStart(uuidV7Millis(e.id));
        if (days.includes(day)) refused.set(e.id, pastRetention(e, day, this.config.EVENT_RETENTION_DAYS));
      }
      const rest = unique.filter((e) => !refused.has(e.id));
      return rest.length ? this.insert(rest) : [];
    });
    const stored = new Set(inserted.map((r) => r.id));
    // With a duplicate id in one batch, only its first occurrence counts as stored.
    return events.map((e) => refused.get(e.id) ?? stored.delete(e.id));
  }

  /**
   * Inserts the events not yet stored and, in the same statement, counts exactly those in the rollups (their
   * deltas: appends no concurrent batch waits for), so a redelivered event is neither stored nor counted twice.
   */
  private insert(events: EventEnvelope[]): Promise<{ id: string }[]> {
    return this.db.query(
      `WITH stored AS (
       INSERT INTO event_store (${COLUMNS.join(', ')})
       SELECT e.id, e."tenantId", e.name, e.version, e."occurredAt", e."recordedAt", e.source, e.actor, e."warehouseId",
              e."correlationId", e."causationId", e."aggregateType", e."aggregateId", e."streamPosition", e.payload
       FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, "tenantId" text, name text, version int, "occurredAt" timestamptz,
            "recordedAt" timestamptz, source text, actor jsonb, "warehouseId" text, "correlationId" uuid, "causationId" uuid,
            "aggregateType" text, "aggregateId" text, "streamPosition" bigint, payload jsonb)
       ON CONFLICT (id) DO NOTHING
       RETURNING id, tenant_id, warehouse_id, name, recorded_at, stored_at
       )${countStoredSql('stored')}
       SELECT id FROM stored`,
      [JSON.stringify(events)],
    );
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

  /** Newest first, cursor-paginated by id; from/to are checked strictly (400 naming the bound). */
  async find(q: EventQuery): Promise<EventPage> {
    checkDateRange(q);
    const where = new SqlWhere()
      .scope({ tenantId: q.tenantId, warehouses: q.visibleWarehouses })
      .add('name = ?', q.name)
      .add('aggregate_type = ?', q.aggregateType)
      .add('aggregate_id = ?', q.aggregateId)
      .add('warehouse_id = ?', q.warehouseId)
      .add('occurred_at >= ?', q.from)
      .add('occurred_at < ?', q.to)
      .add('id < ?', q.after)
      .add('id > ?', q.since)
      .add('correlation_id = ?', q.correlationId)
      .add(`(aggregate_id ILIKE ? OR payload::text ILIKE ?)`, containing(q.text));
    const rows: EventRow[] = await this.db.query(
      `SELECT ${COLUMNS.join(', ')}
       FROM event_store
       WHERE ${where.sql}
       ORDER BY id ${q.since ? 'ASC' : 'DESC'}
       LIMIT ${where.param(q.limit + 1)}`,
      where.params,
    );
    const items = rows.slice(0, q.limit).map(toEnvelope);
    return { items, nextCursor: rows.length > q.limit ? items[items.length - 1].id : null };
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
