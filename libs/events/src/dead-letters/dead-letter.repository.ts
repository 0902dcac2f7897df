import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { changedRows } from '../database/changed-rows.js';
import { EventsConfig } from '../config/events-config.js';
import { containing, SqlWhere } from '../database/sql-where.js';
import { declareLifetime } from '../retention/table-lifetimes.js';
import type { DeadLetterStatus } from './dead-letter-status.js';
import { normalizeKey } from '../catalog/event-catalog.js';

export interface DeadLetterFilter {
  status?: DeadLetterStatus;
  queue?: string;
  jobName?: string;
  eventName?: string;
  warehouseId?: string;
  fingerprint?: string;
  from?: string;
  to?: string;
  /** Text in the job's data or its event id: SKU, order number, part of one … (reads the tenant's dead letters). */
  search?: string;
  /** A business key of the dead letter's event as the catalog declares them, any case (through an index). */
  key?: string;
}

/** A `dead_letters` row as Postgres returns it. */
export interface DeadLetterRow {
  id: string;
  tenant_id: string | null;
  status: DeadLetterStatus;
  queue: string;
  job_name: string;
  job_id: string;
  event_id: string | null;
  event_name: string | null;
  warehouse_id: string | null;
  payload: unknown;
  error_message: string;
  error_stack: string | null;
  fingerprint: string;
  attempts: number;
  retries: number;
  history: { at: string; error: string }[];
  first_failed_at: Date;
  last_failed_at: Date;
  status_reason: string | null;
  status_by: string | null;
}

export interface DeadLetterGroupRow {
  fingerprint: string;
  queue: string;
  job_name: string;
  count: number;
  last_failed_at: Date;
  sample_error: string;
}

/** One failure as the dead-letter store keeps it. */
export interface Failure {
  attempts: number;
  history: { at: string; error: string }[];
  error: string;
  stack: string | null;
  fingerprint: string;
  at: Date;
}

export interface NewDeadLetter extends Failure {
  tenantId: string | null;
  queue: string;
  jobName: string;
  jobId: string;
  eventId: string | null;
  eventName: string | null;
  warehouseId: string | null;
  payload: unknown;
  /** The normalized business keys of its event (businessKeys in the catalog); none for a job of no event. */
  keys: string[];
  firstFailedAt: Date;
}

const where = (tenantId: string, f: DeadLetterFilter) =>
  new SqlWhere()
    .add('tenant_id = ?', tenantId)
    .add('status = ?', f.status)
    .add('queue = ?', f.queue)
    .add('job_name = ?', f.jobName)
    .add('event_name = ?', f.eventName)
    .add('warehouse_id = ?', f.warehouseId)
    .add('fingerprint = ?', f.fingerprint)
    .add('last_failed_at >= ?', f.from)
    .add('last_failed_at < ?', f.to)
    .addEach(`(event_id::text = ? OR payload::text ILIKE ?)`, [f.search, containing(f.search)])
    .add('keys @> ARRAY[?]::text[]', f.key === undefined ? undefined : normalizeKey(f.key));

// Open and retried ones wait for an admin or their retry, however old: nothing fails silently.
declareLifetime('dead_letters', {
  lifetime: 'EVENT_RETENTION_DAYS after it was resolved or discarded; open and retried ones are kept',
  expired: (settings) => ({
    where: `status IN ('resolved', 'discarded') AND status_at < now() - make_interval(days => $1)`,
    params: [settings(EventsConfig).EVENT_RETENTION_DAYS],
  }),
});

/** Owns `dead_letters`: every exhausted job with its payload, error and history, and what admins did with it. */
@Injectable()
export class DeadLetterRepository {
  constructor(private readonly db: DataSource) {}

  async insert(m: EntityManager, d: NewDeadLetter): Promise<{ id: string; retries: number }> {
    const [row] = await m.query(
      `INSERT INTO dead_letters (
         tenant_id, queue, job_name, job_id, event_id, event_name, warehouse_id, payload, error_message,
         error_stack, fingerprint, attempts, history, first_failed_at, last_failed_at, keys
       )
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       RETURNING id, retries`,
      [
        d.tenantId,
        d.queue,
        d.jobName,
        d.jobId,
        d.eventId,
        d.eventName,
        d.warehouseId,
        JSON.stringify(d.payload ?? null),
        d.error,
        d.stack,
        d.fingerprint,
        d.attempts,
        JSON.stringify(d.history),
        d.firstFailedAt,
        d.at,
        d.keys,
      ],
    );
    return row;
  }

  /** A retried dead letter that failed again: back to open on its own row, attempts and history appended. */
  async reopen(m: EntityManager, id: string, f: Failure): Promise<{ id: string; retries: number } | undefined> {
    const [row] = await changedRows<{ id: string; retries: number }>(
      m,
      `UPDATE dead_letters
       SET status = 'open', attempts = attempts + $2, history = history || $3::jsonb, error_message = $4,
           error_stack = $5, fingerprint = $6, last_failed_at = $7
       WHERE id = $1
       RETURNING id, retries`,
      [id, f.attempts, JSON.stringify(f.history), f.error, f.stack, f.fingerprint, f.at],
    );
    return row;
  }

  /** A retried dead letter whose job then succeeded. */
  async resolveRetried(id: string): Promise<void> {
    await this.db.query(
      `UPDATE dead_letters
       SET status = 'resolved', status_at = now()
       WHERE id = $1 AND status = 'retried'`,
      [id],
    );
  }

  async list(tenantId: string, filter: DeadLetterFilter, limit: number): Promise<DeadLetterRow[]> {
    const w = where(tenantId, filter);
    return this.db.query(
      `SELECT *
       FROM dead_letters
       WHERE ${w.sql}
       ORDER BY last_failed_at DESC, id
       LIMIT ${w.param(limit)}`,
      w.params,
    );
  }

  /** One dead letter of the tenant; with `forUpdate`, locked in the caller's transaction. */
  async find(
    tenantId: string,
    id: string,
    m: EntityManager = this.db.manager,
    forUpdate = false,
  ): Promise<DeadLetterRow | undefined> {
    const [row] = await m.query(
      `SELECT *
       FROM dead_letters
       WHERE id = $1 AND tenant_id = $2
       ${forUpdate ? 'FOR UPDATE' : ''}`,
      [id, tenantId],
    );
    return row;
  }

  async groups(tenantId: string, filter: DeadLetterFilter): Promise<DeadLetterGroupRow[]> {
    const w = where(tenantId, filter);
    return this.db.query(
      `SELECT fingerprint, queue, job_name, count(*)::int AS count, max(last_failed_at) AS last_failed_at,
              (array_agg(error_message ORDER BY last_failed_at DESC))[1] AS sample_error
       FROM dead_letters
       WHERE ${w.sql}
       GROUP BY fingerprint, queue, job_name
       ORDER BY count DESC, last_failed_at DESC
       LIMIT 200`,
      w.params,
    );
  }

  async count(tenantId: string, filter: DeadLetterFilter): Promise<number> {
    const w = where(tenantId, filter);
    const [{ n }]: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n
       FROM dead_letters
       WHERE ${w.sql}`,
      w.params,
    );
    return n;
  }

  /** Matching rows, oldest failure first, locked in the caller's transaction (skipping ones another admin holds). */
  async lockMatching(
    m: EntityManager,
    tenantId: string,
    filter: DeadLetterFilter,
    limit: number,
  ): Promise<DeadLetterRow[]> {
    const w = where(tenantId, filter);
    return m.query(
      `SELECT *
       FROM dead_letters
       WHERE ${w.sql}
       ORDER BY last_failed_at
       LIMIT ${w.param(limit)}
       FOR UPDATE SKIP LOCKED`,
      w.params,
    );
  }

  async markRetried(m: EntityManager, id: string, by: string): Promise<void> {
    await m.query(
      `UPDATE dead_letters
       SET status = 'retried', retries = retries + 1, status_by = $2, status_at = now(), status_reason = NULL
       WHERE id = $1`,
      [id, by],
    );
  }

  /** Retries that could not be queued: open again, their retry not counted. */
  async unmarkRetried(ids: string[]): Promise<void> {
    await this.db.query(
      `UPDATE dead_letters
       SET status = 'open', retries = retries - 1
       WHERE id = ANY($1::uuid[]) AND status = 'retried'`,
      [ids],
    );
  }

  /** Discards an open dead letter; false when there is none open with that id. */
  async discard(m: EntityManager, tenantId: string, id: string, reason: string, by: string): Promise<boolean> {
    const rows = await changedRows(
      m,
      `UPDATE dead_letters
       SET status = 'discarded', status_reason = $3, status_by = $4, status_at = now()
       WHERE id = $1 AND tenant_id = $2 AND status = 'open'
       RETURNING id`,
      [id, tenantId, reason, by],
    );
    return rows.length > 0;
  }

  /** Open dead letters per queue, every tenant (the operators' metrics), through dead_letters_open_queue_idx. */
  async openByQueue(): Promise<{ queue: string; n: number }[]> {
    return this.db.query(
      `SELECT queue, count(*)::int AS n
       FROM dead_letters
       WHERE status = 'open'
       GROUP BY queue`,
    );
  }
}
