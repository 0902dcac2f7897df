import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export type UserRole = 'operator' | 'supervisor' | 'admin';

/** How to reach a person: what notifications need of the `users` table. */
export interface UserContact {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  phone: string | null;
  role: UserRole;
  timeZone: string;
}

interface ContactRow {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  phone: string | null;
  role: UserRole;
  time_zone: string;
}

const toContact = (r: ContactRow): UserContact => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  displayName: r.display_name,
  phone: r.phone,
  role: r.role,
  timeZone: r.time_zone,
});

/**
 * Owns the `users` table: people of a tenant, their role, warehouses, contact details and sign-in state.
 * Everyone else asks it; nobody else writes SQL against `users`.
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly db: DataSource) {}

  /** Active people of the tenant who are one of `userIds` or have one of `roles`, and may see `warehouseId` (admins see all). */
  async activeIdsFor(
    tenantId: string,
    who: { userIds: string[]; roles: string[]; warehouseId: string | null },
    m: EntityManager = this.db.manager,
  ): Promise<string[]> {
    const rows: { id: string }[] = await m.query(
      `SELECT id
       FROM users
       WHERE tenant_id = $1
         AND NOT disabled
         AND (id = ANY($2::uuid[]) OR role = ANY($3))
         AND (role = 'admin' OR $4::text IS NULL OR $4 = ANY(warehouses))`,
      [tenantId, who.userIds, who.roles, who.warehouseId],
    );
    return rows.map((r) => r.id);
  }

  /** The tenant's admins who are not disabled. */
  async activeAdminIds(tenantId: string, m: EntityManager = this.db.manager): Promise<string[]> {
    const rows: { id: string }[] = await m.query(
      `SELECT id
       FROM users
       WHERE tenant_id = $1 AND role = 'admin' AND NOT disabled`,
      [tenantId],
    );
    return rows.map((r) => r.id);
  }

  /** Whether every one of `userIds` is a person of the tenant. */
  async allInTenant(tenantId: string, userIds: string[]): Promise<boolean> {
    const [{ n }]: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n
       FROM users
       WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [tenantId, userIds],
    );
    return n === new Set(userIds).size;
  }

  async contact(userId: string, m: EntityManager = this.db.manager): Promise<UserContact | null> {
    const [row]: ContactRow[] = await m.query(
      `SELECT id, tenant_id, email, display_name, phone, role, time_zone
       FROM users
       WHERE id = $1`,
      [userId],
    );
    return row ? toContact(row) : null;
  }

  /** Changes a person's phone and/or time zone (undefined leaves it as it is). */
  async setContact(
    userId: string,
    change: { phone?: string | null; timeZone?: string },
    m: EntityManager = this.db.manager,
  ): Promise<void> {
    await m.query(
      `UPDATE users
       SET phone = CASE WHEN $2 THEN $3 ELSE phone END,
           time_zone = coalesce($4, time_zone)
       WHERE id = $1`,
      [userId, change.phone !== undefined, change.phone ?? null, change.timeZone ?? null],
    );
  }
}
