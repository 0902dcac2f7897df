import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { changedRows } from '../database/changed-rows.js';
import { declareExempt } from '../retention/table-lifetimes.js';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string | null;
  suspendedAt: string | null;
  suspendedReason: string | null;
}

interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
  created_by: string | null;
  suspended_at: Date | null;
  suspended_reason: string | null;
}

const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  suspendedAt: r.suspended_at?.toISOString() ?? null,
  suspendedReason: r.suspended_reason,
});

/**
 * Conditions on the tenant of `tenantIdColumn`, for the repositories of tables that carry a tenant_id
 * (users, credentials): an access lookup stays one statement, and only this file names `tenants`.
 */
export const tenantOf = {
  /** The tenant is provisioned. */
  exists: (tenantIdColumn: string) => `EXISTS (SELECT 1 FROM tenants t WHERE t.id = ${tenantIdColumn})`,
  /** The tenant is provisioned and not suspended. */
  active: (tenantIdColumn: string) =>
    `EXISTS (SELECT 1 FROM tenants t WHERE t.id = ${tenantIdColumn} AND t.suspended_at IS NULL)`,
};

declareExempt('tenants', "the installation's tenants; suspended, never deleted");

/** Owns the `tenants` table: the installation's tenants and whether each is suspended. */
@Injectable()
export class TenantsRepository {
  constructor(private readonly db: DataSource) {}

  async all(): Promise<Tenant[]> {
    const rows: TenantRow[] = await this.db.query(
      `SELECT *
       FROM tenants
       ORDER BY id`,
    );
    return rows.map(toTenant);
  }

  /** The new tenant, or null when `id` is taken. */
  async insert(m: EntityManager, tenant: { id: string; name: string; createdBy: string }): Promise<Tenant | null> {
    const [row]: TenantRow[] = await m.query(
      `INSERT INTO tenants (id, name, created_by)
       VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING
       RETURNING *`,
      [tenant.id, tenant.name, tenant.createdBy],
    );
    return row ? toTenant(row) : null;
  }

  /** Suspends the tenant (keeping the first suspension's time); null when there is no such tenant. */
  async suspend(m: EntityManager, id: string, reason: string): Promise<Tenant | null> {
    return this.changed(
      m,
      `UPDATE tenants
       SET suspended_at = coalesce(suspended_at, now()), suspended_reason = $2
       WHERE id = $1
       RETURNING *`,
      [id, reason],
    );
  }

  async resume(m: EntityManager, id: string): Promise<Tenant | null> {
    return this.changed(
      m,
      `UPDATE tenants
       SET suspended_at = NULL, suspended_reason = NULL
       WHERE id = $1
       RETURNING *`,
      [id],
    );
  }

  private async changed(m: EntityManager, sql: string, params: unknown[]): Promise<Tenant | null> {
    const [row] = await changedRows<TenantRow>(m, sql, params);
    return row ? toTenant(row) : null;
  }
}
