import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * `event_store` is range-partitioned on its UUIDv7 `id`, one partition per UTC day. The id carries the api's
 * clock when the event was accepted, so the partition of an event never changes, and `PRIMARY KEY (id)` —
 * which must include the partition key — stays one key over the whole store.
 */
export const DAY_MS = 86_400_000;
/** How many days after today have their partition ready (the maintenance job runs hourly). */
export const PARTITION_DAYS_AHEAD = 7;
// Persistent contract: the archive finds the partitions by their bounds, people by these names.
const PARTITION_PREFIX = 'event_store_p';

/** Anything that runs SQL: a DataSource, an EntityManager, a migration's QueryRunner. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** One partition and its id range; null is MINVALUE (`from`) or MAXVALUE (`to`). */
export interface EventPartition {
  name: string;
  from: string | null;
  to: string | null;
}

/** The smallest UUID of a millisecond: its 48-bit timestamp, the rest zero. Partition bounds are these. */
export function uuidV7Floor(ms: number): string {
  const at = Math.floor(ms);
  if (!(at >= 0 && at < 2 ** 48)) throw new RangeError(`no UUIDv7 timestamp for ${ms} ms`);
  const hex = at.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-0000-0000-000000000000`;
}

/** The millisecond a UUIDv7 was minted at. */
export const uuidV7Millis = (id: string): number => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

/** The start (UTC midnight, ms) of the day `ms` falls in. */
export const dayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

/** Today and the `PARTITION_DAYS_AHEAD` days after it. */
export const daysAhead = (now: number): number[] =>
  Array.from({ length: PARTITION_DAYS_AHEAD + 1 }, (_, i) => dayStart(now) + i * DAY_MS);

const partitionName = (day: number) => PARTITION_PREFIX + new Date(day).toISOString().slice(0, 10).replace(/-/g, '');

/** Every partition of `event_store` with its bounds, oldest first. */
export async function eventPartitions(sql: SqlRunner): Promise<EventPartition[]> {
  const rows = (await sql.query(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'event_store'::regclass`,
  )) as { name: string; bound: string }[];
  const value = (v: string) => (v === 'MINVALUE' || v === 'MAXVALUE' ? null : v.replace(/^'|'$/g, ''));
  return rows
    .map((r) => {
      const [, from, to] = /FROM \((.+)\) TO \((.+)\)/.exec(r.bound) ?? [];
      return { name: r.name, from: value(from), to: value(to) };
    })
    .sort((a, b) => ((a.from ?? '') < (b.from ?? '') ? -1 : 1));
}

/**
 * Creates the partitions of the days given that no partition covers yet; returns the names it created.
 * Run it inside a transaction: the advisory lock makes concurrent callers (several workers, an insert that
 * found no partition) take turns, so each day's partition is created once. A partition is created on its own
 * and then attached, which locks `event_store` only against other schema changes — never against the
 * events being stored and read meanwhile (CREATE TABLE … PARTITION OF would lock the whole store).
 */
export async function ensureEventPartitions(sql: SqlRunner, days: number[]): Promise<string[]> {
  await sql.query(`SET LOCAL lock_timeout = '10s'`);
  await sql.query(`SELECT pg_advisory_xact_lock(hashtext('event_store partitions'))`);
  const existing = await eventPartitions(sql);
  const created: string[] = [];
  for (const day of [...new Set(days.map(dayStart))].sort((a, b) => a - b)) {
    const from = uuidV7Floor(day);
    const to = uuidV7Floor(day + DAY_MS);
    // Bounds are day-aligned (the converted pre-partitioning store too), so a day is covered whole or not at all.
    if (existing.some((p) => (p.from === null || p.from < to) && (p.to === null || from < p.to))) continue;
    const name = partitionName(day);
    await sql.query(`CREATE TABLE "${name}" (LIKE event_store INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    // Stream positions are unique per stream within a partition (a unique index on the partitioned table would
    // have to include id); across partitions event_streams hands each position out once.
    await sql.query(
      `CREATE UNIQUE INDEX "${name}_stream_position_uq"
       ON "${name}" (tenant_id, aggregate_type, aggregate_id, stream_position)`,
    );
    await sql.query(`ALTER TABLE event_store ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`);
    created.push(name);
  }
  return created;
}

/** Postgres found no partition for a row: its error 23514 without a constraint name. */
export const isMissingPartition = (error: unknown): boolean => {
  const e = error as { code?: string; constraint?: string; message?: string };
  return e?.code === '23514' && !e.constraint && /no partition of relation/.test(e.message ?? '');
};

/** The partitions of the event store: listed, and created ahead of the events that need them. */
@Injectable()
export class EventPartitions {
  constructor(private readonly db: DataSource) {}

  list(): Promise<EventPartition[]> {
    return eventPartitions(this.db);
  }

  /** Today's partition and the next days'; what the maintenance job and the worker's boot run. */
  ensureAhead(now = Date.now()): Promise<string[]> {
    return this.ensureDays(daysAhead(now));
  }

  /** The partitions these event ids belong in, e.g. after an insert found none (a clock far ahead). */
  ensureFor(ids: string[]): Promise<string[]> {
    return this.ensureDays(ids.map(uuidV7Millis));
  }

  private ensureDays(days: number[]): Promise<string[]> {
    return this.db.transaction((m) => ensureEventPartitions(m, days));
  }
}
