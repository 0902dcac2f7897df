import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { retryOnConflict } from '../database/retry-on-conflict.js';
import { MicroBatcher } from '../database/micro-batcher.js';
import { preparedQuery } from '../database/prepared.js';
import { isConnectionLost } from '../database/unit-of-work.js';
import { declareExempt } from '../retention/table-lifetimes.js';

export interface RecordRequest {
  envelope: EventEnvelope;
  idempotency?: { scope: string; key: string; requestHash: string };
}

/** The event's stream position when recorded now; null when its Idempotency-Key was already taken. */
export type RecordOutcome = number | null;

// Records many independent events in ONE autocommit statement (group commit): claims their
// idempotency keys, takes gap-free positions per stream (several events of one stream in one batch
// are numbered in arrival order) and writes the outbox rows. Rows are locked in key order so that
// concurrent batches cannot deadlock.
/**
 * CTEs (`counts`, `streams`, `numbered`) giving each row of the CTE `accepted` (ord, id, tenant, atype, aid,
 * envelope) its gap-free stream position: each stream's row in event_streams moves on by its rows' count, taken in
 * key order (no deadlock between concurrent statements), and its rows are numbered in `ord` order. Invariant 6: every
 * statement that records events takes positions this way.
 */
export const numberedSql = `counts AS (
    SELECT tenant, atype, aid, count(*)::bigint AS n FROM accepted GROUP BY tenant, atype, aid
  ),
  streams AS (
    INSERT INTO event_streams (tenant_id, aggregate_type, aggregate_id, position)
    SELECT tenant, atype, aid, n FROM counts ORDER BY tenant, atype, aid
    ON CONFLICT (tenant_id, aggregate_type, aggregate_id) DO UPDATE SET position = event_streams.position + EXCLUDED.position
    RETURNING tenant_id, aggregate_type, aggregate_id, position AS last
  ),
  numbered AS (
    SELECT a.id, a.envelope,
           s.last - c.n + row_number() OVER (PARTITION BY a.tenant, a.atype, a.aid ORDER BY a.ord) AS position
    FROM accepted a
    JOIN counts c ON (c.tenant, c.atype, c.aid) = (a.tenant, a.atype, a.aid)
    JOIN streams s ON (s.tenant_id, s.aggregate_type, s.aggregate_id) = (a.tenant, a.atype, a.aid)
  )`;

const recordSql = (filter = '') => `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS x(ord int, id uuid, tenant text, atype text, aid text, iscope text, ikey text, ihash text, envelope jsonb)
    ${filter}
  ),
  claimed AS (
    INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, event_id)
    SELECT tenant, iscope, ikey, ihash, id FROM input
    WHERE ikey IS NOT NULL
      -- a key recorded before keys were scoped to their caller (scope '') still answers its resends
      AND NOT EXISTS (SELECT 1 FROM idempotency_keys l WHERE l.tenant_id = input.tenant AND l.scope = '' AND l.key = input.ikey)
    ORDER BY tenant, iscope, ikey, ord
    ON CONFLICT DO NOTHING
    RETURNING event_id
  ),
  accepted AS (
    SELECT * FROM input WHERE ikey IS NULL OR id IN (SELECT event_id FROM claimed)
  ),
  ${numberedSql}
  INSERT INTO event_outbox (id, envelope)
  SELECT id, jsonb_set(envelope, '{streamPosition}', to_jsonb(position)) FROM numbered
  RETURNING id, (envelope->>'streamPosition')::bigint AS position`;
const RECORD_BATCH_SQL = recordSql();

// After a lost connection the batch may have committed: an event already in the outbox or the store
// (the worker may have moved it) is not recorded again, so its stream gets no second position.
const RECORD_AGAIN_SQL = recordSql(`WHERE NOT EXISTS (SELECT 1 FROM event_outbox o WHERE o.id = x.id)
      AND NOT EXISTS (SELECT 1 FROM event_store s WHERE s.id = x.id)`);
const POSITION_SQL = `
  SELECT (envelope->>'streamPosition')::bigint AS position FROM event_outbox WHERE id = $1
  UNION ALL SELECT stream_position FROM event_store WHERE id = $1
  LIMIT 1`;

const toInput = (requests: RecordRequest[]) =>
  requests.map((r, ord) => ({
    ord,
    id: r.envelope.id,
    tenant: r.envelope.tenantId,
    atype: r.envelope.aggregateType,
    aid: r.envelope.aggregateId,
    iscope: r.idempotency?.scope ?? null,
    ikey: r.idempotency?.key ?? null,
    ihash: r.idempotency?.requestHash ?? null,
    envelope: r.envelope,
  }));

/** The group-commit statement and its parameters exactly as `record` sends them for these requests (to check its plan). */
export const recordBatchStatement = (requests: RecordRequest[]) => ({
  sql: RECORD_BATCH_SQL,
  params: [JSON.stringify(toInput(requests))],
});

declareExempt('event_streams', "each stream's last position, which the next event's gap-free position follows");

@Injectable()
export class EventRecorder {
  private readonly batcher = new MicroBatcher<RecordRequest, RecordOutcome>((requests) => this.recordMany(requests));

  constructor(private readonly db: DataSource) {}

  /** Durable in Postgres when this resolves. */
  record(request: RecordRequest): Promise<RecordOutcome> {
    return this.batcher.push(request);
  }

  /** Records one event inside the caller's transaction (a unit of work), with the same statement. */
  async recordIn(manager: EntityManager, envelope: EventEnvelope): Promise<number> {
    const [row] = await manager.query(RECORD_BATCH_SQL, [JSON.stringify(toInput([{ envelope }]))]);
    return Number(row.position);
  }

  private async recordMany(requests: RecordRequest[]): Promise<(RecordOutcome | Error)[]> {
    try {
      return await this.recordBatch(requests);
    } catch (error) {
      const lost = isConnectionLost(error);
      if (requests.length === 1 && !lost) throw error;
      // One bad request must not fail everyone else's: record each on its own, so only it fails. A lost
      // connection leaves the batch's outcome unknown: each is recorded again unless it already was.
      return Promise.all(
        requests.map((r) =>
          (lost ? this.recordAgain(r) : this.recordBatch([r]).then(([o]) => o)).then(
            (o) => o,
            (e: Error) => e,
          ),
        ),
      );
    }
  }

  private async recordAgain(request: RecordRequest): Promise<RecordOutcome> {
    // The lost statement may still be committing: its outbox row then makes this one a unique violation
    // (rolled back whole: no second position). Until its redrive, a lost event stays in the outbox.
    const [row] = await this.db
      .query(RECORD_AGAIN_SQL, [JSON.stringify(toInput([request]))])
      .catch((error: { code?: string; constraint?: string }) => {
        if (error.code === '23505' && error.constraint === 'event_outbox_pkey') return [];
        throw error;
      });
    if (row) return Number(row.position);
    // Recorded by the lost attempt (its position stands), or its key was taken by another request (null: a replay).
    const [recorded] = await this.db.query(POSITION_SQL, [request.envelope.id]);
    return recorded ? Number(recorded.position) : null;
  }

  private async recordBatch(requests: RecordRequest[]): Promise<RecordOutcome[]> {
    const { sql, params } = recordBatchStatement(requests);
    // Another api process may lock the same streams in another order; Postgres tells one of the two to retry.
    const rows = await retryOnConflict(() => preparedQuery<{ id: string; position: string }>(this.db, sql, params));
    const positions = new Map(rows.map((r) => [r.id, Number(r.position)]));
    return requests.map((r) => positions.get(r.envelope.id) ?? null);
  }
}
