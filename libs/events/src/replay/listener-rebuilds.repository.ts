import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { changedRows } from '../database/changed-rows.js';
import type { RangeCursor } from '../store/event-store.repository.js';
import { declareExempt } from '../retention/table-lifetimes.js';

declareExempt('listener_rebuilds', 'one row per rebuild an admin started: a handful, the record of what was rebuilt');

export type RebuildStatus = 'queueing' | 'queued';

/** A rebuild as callers see it. */
export interface ListenerRebuild {
  id: string;
  tenantId: string;
  listener: string;
  from: string;
  to: string;
  /** `queueing` until every event of the range is queued to the listener (also when interrupted), then `queued`. */
  status: RebuildStatus;
  /** Events of the range when the receipts were reset, and how many of them the listener had handled. */
  eventsReset: number;
  receiptsReset: number;
  eventsQueued: number;
  cursor: RangeCursor | null;
  requestedBy: string;
  startedAt: string;
  queuedAt: string | null;
}

interface RebuildRow {
  id: string;
  tenant_id: string;
  listener: string;
  occurred_from: Date;
  occurred_to: Date;
  status: RebuildStatus;
  events_reset: number;
  receipts_reset: number;
  events_queued: number;
  cursor_occurred_at: Date | null;
  cursor_id: string | null;
  requested_by: string;
  started_at: Date;
  queued_at: Date | null;
}

const toRebuild = (r: RebuildRow): ListenerRebuild => ({
  id: r.id,
  tenantId: r.tenant_id,
  listener: r.listener,
  from: r.occurred_from.toISOString(),
  to: r.occurred_to.toISOString(),
  status: r.status,
  eventsReset: r.events_reset,
  receiptsReset: r.receipts_reset,
  eventsQueued: r.events_queued,
  cursor: r.cursor_id ? { occurredAt: r.cursor_occurred_at!.toISOString(), id: r.cursor_id } : null,
  requestedBy: r.requested_by,
  startedAt: r.started_at.toISOString(),
  queuedAt: r.queued_at?.toISOString() ?? null,
});

/** Owns `listener_rebuilds`: each rebuild of a projection listener and how far its replay got. */
@Injectable()
export class ListenerRebuildsRepository {
  constructor(private readonly db: DataSource) {}

  /** Records a rebuild whose reset is committing in `m`. */
  async start(
    m: EntityManager,
    r: Pick<ListenerRebuild, 'id' | 'tenantId' | 'listener' | 'from' | 'to' | 'eventsReset' | 'receiptsReset'> & {
      requestedBy: string;
    },
  ): Promise<ListenerRebuild> {
    const [row]: RebuildRow[] = await m.query(
      `INSERT INTO listener_rebuilds
         (id, tenant_id, listener, occurred_from, occurred_to, status, events_reset, receipts_reset, requested_by)
       VALUES ($1, $2, $3, $4, $5, 'queueing', $6, $7, $8)
       RETURNING *`,
      [r.id, r.tenantId, r.listener, r.from, r.to, r.eventsReset, r.receiptsReset, r.requestedBy],
    );
    return toRebuild(row);
  }

  /** The listener's rebuild in this tenant that was interrupted before all its events were queued. */
  async unfinished(tenantId: string, listener: string): Promise<ListenerRebuild | undefined> {
    const rows: RebuildRow[] = await this.db.query(
      `SELECT * FROM listener_rebuilds WHERE tenant_id = $1 AND listener = $2 AND status = 'queueing'`,
      [tenantId, listener],
    );
    return rows[0] && toRebuild(rows[0]);
  }

  async find(tenantId: string, listener: string, id: string): Promise<ListenerRebuild | undefined> {
    const rows: RebuildRow[] = await this.db.query(
      `SELECT * FROM listener_rebuilds WHERE tenant_id = $1 AND listener = $2 AND id = $3`,
      [tenantId, listener, id],
    );
    return rows[0] && toRebuild(rows[0]);
  }

  /** After a page of the range was queued: where to go on from if the process dies now. */
  async advance(id: string, cursor: RangeCursor, queued: number): Promise<void> {
    await this.db.query(
      `UPDATE listener_rebuilds SET cursor_occurred_at = $2, cursor_id = $3, events_queued = events_queued + $4
       WHERE id = $1`,
      [id, cursor.occurredAt, cursor.id, queued],
    );
  }

  async queued(id: string): Promise<ListenerRebuild> {
    const [row] = await changedRows<RebuildRow>(
      this.db.manager,
      `UPDATE listener_rebuilds SET status = 'queued', queued_at = now() WHERE id = $1 RETURNING *`,
      [id],
    );
    return toRebuild(row);
  }
}
