import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { EventsConfig } from '../config/events-config.js';

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

/**
 * `event_keys` (the business keys of the stored events, store/event-keys.ts) is partitioned like the store, one
 * partition per store partition with the same bounds and name suffix, so its days leave with the store's.
 */
export const keysPartitionOf = (storePartition: string): string =>
  storePartition.replace(/^event_store_/, 'event_keys_');

/** Every partition of `event_store` (or of `event_keys`) with its bounds, oldest first. */
export async function eventPartitions(
  sql: SqlRunner,
  parent: 'event_store' | 'event_keys' = 'event_store',
): Promise<EventPartition[]> {
  const rows = (await sql.query(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1)`,
    [parent],
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
 * The first id a retention of `days` keeps at `now`: a partition that ends at or before it holds only events older
 * than the retention — the archive takes it, and a missing one is never made again.
 */
export const retentionCutoff = (now: number, days: number): string => uuidV7Floor(dayStart(now) - days * DAY_MS);

/** The database's clock (ms): the archive and the partitions made on demand judge "past retention" by one clock. */
export async function databaseNow(sql: SqlRunner): Promise<number> {
  const [row] = (await sql.query(`SELECT extract(epoch FROM now()) * 1000 AS now`)) as { now: string }[];
  return Number(row.now);
}

export interface EnsuredPartitions {
  created: string[];
  /** Days (UTC midnight, ms) without a partition that are past the retention: archived, or never to be stored. */
  refused: number[];
}

/**
 * Creates the partitions of the days given that no partition covers yet; with `retentionDays`, never one of a day
 * past the retention (the archive dropped it, or will as soon as it exists). Run it inside a transaction: the
 * advisory lock makes concurrent callers (several workers, an insert that found no partition) take turns, so each
 * day's partition is created once. A partition is created on its own and then attached, which locks `event_store`
 * only against other schema changes — never against the events being stored and read meanwhile (CREATE TABLE …
 * PARTITION OF would lock the whole store).
 */
export async function ensureEventPartitions(
  sql: SqlRunner,
  days: number[],
  retentionDays?: number,
): Promise<EnsuredPartitions> {
  await sql.query(`SET LOCAL lock_timeout = '10s'`);
  await sql.query(`SELECT pg_advisory_xact_lock(hashtext('event_store partitions'))`);
  const existing = await eventPartitions(sql);
  const [{ keyed }] = (await sql.query(`SELECT to_regclass('event_keys') IS NOT NULL AS keyed`)) as {
    keyed: boolean;
  }[];
  // Before the migration that made event_keys, the store's partitions are made alone.
  if (keyed) await ensureKeysPartitions(sql, existing);
  const cutoff = retentionDays === undefined ? null : retentionCutoff(await databaseNow(sql), retentionDays);
  const created: string[] = [];
  const refused: number[] = [];
  for (const day of [...new Set(days.map(dayStart))].sort((a, b) => a - b)) {
    const from = uuidV7Floor(day);
    const to = uuidV7Floor(day + DAY_MS);
    // Bounds are day-aligned (the converted pre-partitioning store too), so a day is covered whole or not at all.
    if (existing.some((p) => (p.from === null || p.from < to) && (p.to === null || from < p.to))) continue;
    if (cutoff !== null && to <= cutoff) {
      refused.push(day);
      continue;
    }
    const name = partitionName(day);
    await sql.query(`CREATE TABLE "${name}" (LIKE event_store INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    // Stream positions are unique per stream within a partition (a unique index on the partitioned table would
    // have to include id); across partitions event_streams hands each position out once.
    await sql.query(
      `CREATE UNIQUE INDEX "${name}_stream_position_uq"
       ON "${name}" (tenant_id, aggregate_type, aggregate_id, stream_position)`,
    );
    await sql.query(`ALTER TABLE event_store ATTACH PARTITION "${name}" FOR VALUES FROM ('${from}') TO ('${to}')`);
    if (keyed) await ensureKeysPartitions(sql, [{ name, from, to }]);
    created.push(name);
  }
  return { created, refused };
}

/** The partition of `event_keys` for each store partition given that has none (made like the store's). */
export async function ensureKeysPartitions(sql: SqlRunner, storePartitions: EventPartition[]): Promise<string[]> {
  const existing = new Set((await eventPartitions(sql, 'event_keys')).map((p) => p.name));
  const created: string[] = [];
  for (const p of storePartitions) {
    const name = keysPartitionOf(p.name);
    if (existing.has(name)) continue;
    const bound = (v: string | null, none: string) => (v === null ? none : `'${v}'`);
    await sql.query(`CREATE TABLE "${name}" (LIKE event_keys INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await sql.query(
      `ALTER TABLE event_keys ATTACH PARTITION "${name}"
       FOR VALUES FROM (${bound(p.from, 'MINVALUE')}) TO (${bound(p.to, 'MAXVALUE')})`,
    );
    created.push(name);
  }
  return created;
}

/** Postgres found no partition for a row: its error 23514 without a constraint name. */
export const isMissingPartition = (error: unknown): boolean => {
  const e = error as { code?: string; constraint?: string; message?: string };
  return e?.code === '23514' && !e.constraint && /no partition of relation/.test(e.message ?? '');
};

/**
 * Where a partition past the retention stands on its way out: in the store, detached half-way (a run stopped during
 * DETACH … CONCURRENTLY), or out of the store and not dropped yet (a run stopped before DROP).
 */
export type RetiredState = 'attached' | 'detaching' | 'detached';

export interface RetiredPartition {
  name: string;
  state: RetiredState;
  /** The bounds while it is a partition; a detached table has none (the archive's manifest keeps them). */
  bounds?: { from: string | null; to: string };
}

/** One event as the archive writes it: its line is the row as Postgres' JSON (`to_jsonb`, timestamps in UTC). */
export interface ArchiveLine {
  id: string;
  tenantId: string;
  line: string;
}

/** What a partition holds, to compare with its archive. */
export interface PartitionContent {
  events: number;
  tenants: Record<string, number>;
  firstId: string | null;
  lastId: string | null;
  /** The sum of the lines' 64-bit MD5 prefixes (archive-files.ts computes the same over a file), when asked for. */
  checksum?: string;
}

const LINE = `to_jsonb(e)::text`;
const LINE_HASH = `('x' || left(md5(${LINE}), 16))::bit(64)::bigint`;
const PARTITION_NAME = /^event_store_(p\d{8}|legacy)$/;
const table = (name: string): string => {
  if (!PARTITION_NAME.test(name)) throw new Error(`not an event store partition: ${name}`);
  return `"${name}"`;
};

/** The partitions of the event store: listed, created ahead of the events that need them, and retired by the archive. */
@Injectable()
export class EventPartitions {
  constructor(
    private readonly db: DataSource,
    private readonly config: EventsConfig,
  ) {}

  list(): Promise<EventPartition[]> {
    return eventPartitions(this.db);
  }

  /** Today's partition and the next days'; what the maintenance job and the worker's boot run. */
  async ensureAhead(now = Date.now()): Promise<string[]> {
    return (await this.db.transaction((m) => ensureEventPartitions(m, daysAhead(now)))).created;
  }

  /**
   * The partitions these event ids belong in, e.g. after an insert found none (a clock far ahead). A day past the
   * retention is refused instead: its partition was archived and dropped, and is never made again.
   */
  ensureFor(ids: string[]): Promise<EnsuredPartitions> {
    const days = ids.map(uuidV7Millis);
    return this.db.transaction((m) => ensureEventPartitions(m, days, this.config.EVENT_RETENTION_DAYS));
  }

  /**
   * The partitions whose every event is past the retention at the database's clock (oldest first), and the tables
   * an archive run detached from the store and has not dropped yet.
   */
  async retired(): Promise<{ cutoff: string; partitions: RetiredPartition[] }> {
    const cutoff = retentionCutoff(await databaseNow(this.db), this.config.EVENT_RETENTION_DAYS);
    const pending = new Set(
      (
        (await this.db.query(
          `SELECT inhrelid::regclass::text AS name FROM pg_inherits
           WHERE inhparent = 'event_store'::regclass AND inhdetachpending`,
        )) as { name: string }[]
      ).map((r) => r.name),
    );
    const attached: RetiredPartition[] = (await this.list())
      .filter((p): p is EventPartition & { to: string } => p.to !== null && p.to <= cutoff)
      .map((p) => ({
        name: p.name,
        state: pending.has(p.name) ? 'detaching' : 'attached',
        bounds: { from: p.from, to: p.to },
      }));
    const detached: { name: string }[] = await this.db.query(
      `SELECT c.relname AS name FROM pg_class c
       WHERE c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'event_store'::regclass)
         AND c.relkind = 'r' AND NOT c.relispartition AND c.relname ~ '^event_store_(p[0-9]{8}|legacy)$'
       ORDER BY 1`,
    );
    return {
      cutoff,
      partitions: [...attached, ...detached.map((d) => ({ name: d.name, state: 'detached' as const }))],
    };
  }

  /** A page of a partition's (or detached table's) events in id order, after the id `after`, as archive lines. */
  archiveLines(name: string, after: string | null, limit: number): Promise<ArchiveLine[]> {
    return this.db.transaction(async (m) => {
      await m.query(`SET LOCAL TIME ZONE 'UTC'`);
      return m.query(
        `SELECT id::text AS id, tenant_id AS "tenantId", ${LINE} AS line
         FROM ${table(name)} e
         ${after ? 'WHERE e.id > $2' : ''}
         ORDER BY e.id
         LIMIT $1`,
        after ? [limit, after] : [limit],
      );
    });
  }

  /** Events per tenant, first and last id, and with `checksum` the lines' checksum; in `m`'s transaction if given. */
  async content(name: string, checksum: boolean, m?: EntityManager): Promise<PartitionContent> {
    const read = async (q: EntityManager) => {
      await q.query(`SET LOCAL TIME ZONE 'UTC'`);
      return (await q.query(
        `SELECT tenant_id AS tenant, count(*)::bigint AS n,
                min(id::text COLLATE "C") AS first, max(id::text COLLATE "C") AS last
                ${checksum ? `, sum(${LINE_HASH})::text AS sum` : ''}
         FROM ${table(name)} e
         GROUP BY tenant_id`,
      )) as { tenant: string; n: string; first: string; last: string; sum?: string }[];
    };
    const rows = await (m ? read(m) : this.db.transaction(read));
    const ids = rows.flatMap((r) => [r.first, r.last]).sort();
    return {
      events: rows.reduce((n, r) => n + Number(r.n), 0),
      tenants: Object.fromEntries(rows.map((r) => [r.tenant, Number(r.n)])),
      firstId: ids[0] ?? null,
      lastId: ids[ids.length - 1] ?? null,
      ...(checksum ? { checksum: rows.reduce((sum, r) => sum + BigInt(r.sum!), 0n).toString() } : {}),
    };
  }

  /**
   * Takes a partition out of the store, not in a transaction: CONCURRENTLY lets events be stored and read meanwhile;
   * one left half-way (its run stopped) is finished with FINALIZE. Afterwards nothing writes to it: an event of its
   * range finds no partition, and is refused as past the retention.
   */
  async detach(name: string, state: Exclude<RetiredState, 'detached'>): Promise<void> {
    await this.db.query(
      `ALTER TABLE event_store DETACH PARTITION ${table(name)} ${state === 'detaching' ? 'FINALIZE' : 'CONCURRENTLY'}`,
    );
    // Its keys leave the same way: nothing can be stored in its range any more, so nothing keyed either.
    const keys = keysPartitionOf(name);
    const [row] = (await this.db.query(
      `SELECT i.inhdetachpending AS pending FROM pg_inherits i WHERE i.inhrelid = to_regclass($1)`,
      [keys],
    )) as { pending: boolean }[];
    if (row)
      await this.db.query(
        `ALTER TABLE event_keys DETACH PARTITION "${keys}" ${row.pending ? 'FINALIZE' : 'CONCURRENTLY'}`,
      );
  }

  /** Locks a detached table against everyone in `m`'s transaction; refuses one still in the store. */
  async lockDetached(m: EntityManager, name: string): Promise<void> {
    await m.query(`LOCK TABLE ${table(name)} IN ACCESS EXCLUSIVE MODE`);
    const [row]: { attached: boolean }[] = await m.query(
      `SELECT relispartition AS attached FROM pg_class WHERE oid = $1::regclass`,
      [name],
    );
    if (row.attached) throw new Error(`${name} is still a partition of event_store; it is only dropped once detached`);
  }

  /** Drops a detached table, in `m`'s transaction (after lockDetached). */
  async dropDetached(m: EntityManager, name: string): Promise<void> {
    await m.query(`DROP TABLE ${table(name)}`);
    // Still attached only when a run stopped between the two detaches: dropping it then locks event_keys a moment.
    await m.query(`DROP TABLE IF EXISTS "${keysPartitionOf(name)}"`);
  }
}
