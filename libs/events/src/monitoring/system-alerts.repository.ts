import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { declareExempt } from '../retention/table-lifetimes.js';

declareExempt(
  'system_alerts_raised',
  'one row per (tenant, kind) of system alert raised now, deleted by the alert check when the alert clears',
);

/**
 * Owns `system_alerts_raised`: the alerts raised and not cleared yet. Shared by every worker, so an alert is raised
 * once whichever worker (or how many) checks the thresholds.
 */
@Injectable()
export class SystemAlertsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Marks the alert raised in the caller's transaction (the one that publishes it); false when it already is. A
   * concurrent check's uncommitted raise makes this wait for it, then answer false.
   */
  async raise(m: EntityManager, tenantId: string, kind: string): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO system_alerts_raised (tenant_id, kind)
       VALUES ($1, $2)
       ON CONFLICT (tenant_id, kind) DO NOTHING
       RETURNING kind`,
      [tenantId, kind],
    );
    return rows.length === 1;
  }

  /** Clears the tenant's raised alerts whose kind is not in `holding`, so their next crossing raises them again. */
  async clearAllBut(tenantId: string, holding: string[]): Promise<void> {
    await this.db.query(
      `DELETE FROM system_alerts_raised
       WHERE tenant_id = $1
         AND NOT (kind = ANY($2::text[]))`,
      [tenantId, holding],
    );
  }
}
