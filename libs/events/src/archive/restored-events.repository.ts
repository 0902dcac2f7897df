import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { declareExempt } from '../retention/table-lifetimes.js';

declareExempt(
  'event_archive_restored.events',
  'an investigation copy loaded by events:restore and emptied by events:restore --drop',
);

/**
 * Owns `event_archive_restored.events`: archived events loaded back for an investigation, in a schema of their own
 * with the store's columns. Nothing else reads it — not replay, catch-up, search or the rollups, which read
 * `event_store` — so a restored event is never applied twice. A trigger refuses every write but this repository's
 * (migration 1764730000000-event-archive).
 */
@Injectable()
export class RestoredEventsRepository {
  constructor(private readonly db: DataSource) {}

  /** Loads archive lines (the store's rows as JSON); an event restored before is skipped. Returns how many were new. */
  insert(lines: string[]): Promise<number> {
    return this.db.transaction(async (m) => {
      await m.query(`SET LOCAL wms.archive_restore = 'on'`);
      const rows: unknown[] = await m.query(
        `INSERT INTO event_archive_restored.events
         SELECT * FROM jsonb_populate_recordset(NULL::event_archive_restored.events, $1::jsonb)
         ON CONFLICT (id) DO NOTHING
         RETURNING 1`,
        [`[${lines.join(',')}]`],
      );
      return rows.length;
    });
  }

  /** Empties it; returns how many events of each tenant it held. */
  clear(): Promise<Record<string, number>> {
    return this.db.transaction(async (m) => {
      await m.query(`SET LOCAL wms.archive_restore = 'on'`);
      await m.query(`LOCK TABLE event_archive_restored.events IN ACCESS EXCLUSIVE MODE`);
      const rows: { tenant: string; n: number }[] = await m.query(
        `SELECT tenant_id AS tenant, count(*)::int AS n FROM event_archive_restored.events GROUP BY tenant_id`,
      );
      await m.query(`TRUNCATE event_archive_restored.events`);
      return Object.fromEntries(rows.map((r) => [r.tenant, r.n]));
    });
  }
}
