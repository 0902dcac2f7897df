import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { SqlWhere } from '../database/sql-where.js';
import { MicroBatcher } from '../database/micro-batcher.js';
import { preparedQuery } from '../database/prepared.js';
import { declareExempt } from '../retention/table-lifetimes.js';

/** A tenant's events accepted and not yet processed, in the warehouses the caller may see. */
export interface PendingEvents {
  count: number;
  /** Age of the oldest one, or 0. */
  oldestSeconds: number;
}

declareExempt('event_outbox', 'emptied as events are stored; a row left is an accepted event still to be processed');

/** Events accepted but not yet fully processed; the safety net for a lost queue job. */
@Injectable()
export class OutboxRepository {
  private readonly remover = new MicroBatcher<string, void>(async (ids) => {
    await preparedQuery(this.db, `DELETE FROM event_outbox WHERE id = ANY($1::uuid[])`, [ids]);
    return ids.map(() => undefined);
  });

  constructor(private readonly db: DataSource) {}

  /** An accepted event that is still waiting to be processed, or null once it has been. */
  async envelope(id: string): Promise<EventEnvelope | null> {
    const [row]: { envelope: EventEnvelope }[] = await this.db.query(
      `SELECT envelope
       FROM event_outbox
       WHERE id = $1`,
      [id],
    );
    return row?.envelope ?? null;
  }

  /** Takes an event out of the outbox in the caller's transaction (its job is dead-lettered: the relay must stop). */
  async remove(m: EntityManager, id: string): Promise<void> {
    await m.query(`DELETE FROM event_outbox WHERE id = $1`, [id]);
  }

  markProcessed(id: string): Promise<void> {
    return this.remover.push(id);
  }

  /** Unprocessed events accepted more than `olderThanMs` ago, in id (= publish) order, after the id `after`. */
  async stale(
    olderThanMs: number,
    limit: number,
    after = '00000000-0000-0000-0000-000000000000',
  ): Promise<EventEnvelope[]> {
    const rows: { envelope: EventEnvelope }[] = await this.db.query(
      `SELECT envelope FROM event_outbox
       WHERE created_at < now() - make_interval(secs => $1::double precision / 1000) AND id > $3
       ORDER BY id LIMIT $2`,
      [olderThanMs, limit, after],
    );
    return rows.map((r) => r.envelope);
  }

  /** Reads the tenant's rows only (event_outbox_tenant_idx), never the queues or the event store. */
  async pendingFor(tenantId: string, warehouses: string[] | 'all', warehouseId?: string): Promise<PendingEvents> {
    const w = new SqlWhere().scope({ tenantId, warehouses, warehouseId });
    const [row] = await this.db.query(
      `SELECT count(*)::int AS count,
              coalesce(round(extract(epoch FROM now() - min(created_at))), 0)::int AS "oldestSeconds"
       FROM event_outbox
       WHERE ${w.sql}`,
      w.params,
    );
    return { count: row.count, oldestSeconds: Math.max(0, row.oldestSeconds) };
  }

  async count(): Promise<number> {
    const [row] = await this.db.query(`SELECT count(*)::int AS n FROM event_outbox`);
    return row.n;
  }
}
