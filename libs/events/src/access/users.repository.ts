import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { changedRows } from '../database/changed-rows.js';
import { tenantOf } from './tenants.repository.js';
import {
  NO_PASSWORD,
  type NewUserRow,
  type SessionAccount,
  type UserAccessRow,
  type UserAccount,
  type UserContact,
  type UserRole,
  type UserSummary,
} from './user-account.js';
import { declareExempt } from '../retention/table-lifetimes.js';

interface ContactRow {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  phone: string | null;
  role: UserRole;
  time_zone: string;
}

interface AccountRow {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  password_hash: string;
  role: UserRole;
  warehouses: string[];
  disabled: boolean;
}

const ACCOUNT = 'u.id, u.tenant_id, u.email, u.display_name, u.password_hash, u.role, u.warehouses, u.disabled';
const SUSPENDED = `NOT ${tenantOf.active('u.tenant_id')} AS suspended`;

const toSummary = (r: Omit<AccountRow, 'tenant_id' | 'password_hash'>): UserSummary => ({
  id: r.id,
  email: r.email,
  displayName: r.display_name,
  role: r.role,
  warehouses: r.warehouses,
  disabled: r.disabled,
});
const toAccount = (r: AccountRow): UserAccount => ({
  ...toSummary(r),
  tenantId: r.tenant_id,
  passwordHash: r.password_hash,
});
const toSession = (r: AccountRow & { suspended: boolean }): SessionAccount => ({
  ...toAccount(r),
  tenantSuspended: r.suspended,
});

const toContact = (r: ContactRow): UserContact => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  displayName: r.display_name,
  phone: r.phone,
  role: r.role,
  timeZone: r.time_zone,
});

declareExempt('users', 'people; disabled, never deleted (the audit log and notifications name them)');

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

  /** The account signing in with `email` (lower-cased), if its tenant is provisioned. */
  async forSignIn(m: EntityManager, email: string): Promise<SessionAccount | null> {
    const [row]: (AccountRow & { suspended: boolean })[] = await m.query(
      `SELECT ${ACCOUNT}, ${SUSPENDED}
       FROM users u
       WHERE lower(u.email) = $1
         AND ${tenantOf.exists('u.tenant_id')}`,
      [email],
    );
    return row ? toSession(row) : null;
  }

  /** The account a session is opened for, unless it is disabled or its tenant is not provisioned. */
  async enabledForSession(m: EntityManager, userId: string): Promise<SessionAccount | null> {
    const [row]: (AccountRow & { suspended: boolean })[] = await m.query(
      `SELECT ${ACCOUNT}, ${SUSPENDED}
       FROM users u
       WHERE u.id = $1
         AND NOT u.disabled
         AND ${tenantOf.exists('u.tenant_id')}`,
      [userId],
    );
    return row ? toSession(row) : null;
  }

  /** Sets the password of an enabled account of a provisioned tenant; null when there is none. */
  async setPassword(m: EntityManager, userId: string, passwordHash: string): Promise<SessionAccount | null> {
    const [row] = await changedRows<AccountRow & { suspended: boolean }>(
      m,
      `UPDATE users u
       SET password_hash = $2
       WHERE u.id = $1
         AND NOT u.disabled
         AND ${tenantOf.exists('u.tenant_id')}
       RETURNING ${ACCOUNT}, ${SUSPENDED}`,
      [userId, passwordHash],
    );
    return row ? toSession(row) : null;
  }

  /** Adds the person; false when the email (in any case) already has an account. */
  async insert(m: EntityManager, u: NewUserRow): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, warehouses, phone, time_zone)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (lower(email)) DO NOTHING
       RETURNING id`,
      [
        u.id,
        u.tenantId,
        u.email,
        u.displayName,
        u.passwordHash,
        u.role,
        u.warehouses,
        u.phone ?? null,
        u.timeZone ?? 'UTC',
      ],
    );
    return rows.length > 0;
  }

  async listInTenant(tenantId: string): Promise<UserSummary[]> {
    const rows: AccountRow[] = await this.db.query(
      `SELECT id, email, display_name, role, warehouses, disabled
       FROM users
       WHERE tenant_id = $1
       ORDER BY email`,
      [tenantId],
    );
    return rows.map(toSummary);
  }

  /** A person of the tenant, optionally taken for update, or null. */
  async inTenant(m: EntityManager, tenantId: string, userId: string, forUpdate = false): Promise<UserAccount | null> {
    const [row]: AccountRow[] = await m.query(
      `SELECT ${ACCOUNT}
       FROM users u
       WHERE u.id = $1 AND u.tenant_id = $2
       ${forUpdate ? 'FOR UPDATE' : ''}`,
      [userId, tenantId],
    );
    return row ? toAccount(row) : null;
  }

  /** Changes role, warehouses and/or disabled (undefined leaves each as it is); returns the account after. */
  async update(
    m: EntityManager,
    userId: string,
    change: { role?: UserRole; warehouses?: string[]; disabled?: boolean },
  ): Promise<UserAccount> {
    const [row] = await changedRows<AccountRow>(
      m,
      `UPDATE users u
       SET role = coalesce($2, role), warehouses = coalesce($3, warehouses), disabled = coalesce($4, disabled)
       WHERE u.id = $1
       RETURNING ${ACCOUNT}`,
      [userId, change.role ?? null, change.warehouses ?? null, change.disabled ?? null],
    );
    return toAccount(row);
  }

  /** Access tokens issued until now are refused, even if the person is enabled again. */
  async refuseTokensIssuedUntilNow(m: EntityManager, userId: string): Promise<void> {
    await m.query(
      `UPDATE users
       SET tokens_not_before = now()
       WHERE id = $1`,
      [userId],
    );
  }

  /** An admin of the tenant who has not set a password yet, taken for update; their id, or null. */
  async pendingAdmin(m: EntityManager, tenantId: string, email: string): Promise<string | null> {
    const [row]: { id: string }[] = await m.query(
      `SELECT id
       FROM users
       WHERE tenant_id = $1 AND lower(email) = lower($2) AND role = 'admin' AND password_hash = $3
       FOR UPDATE`,
      [tenantId, email, NO_PASSWORD],
    );
    return row?.id ?? null;
  }

  /** The person's access as it is now, or null when there is no such person in a provisioned tenant. */
  async accessOf(userId: string): Promise<UserAccessRow | null> {
    const [row]: {
      tenant_id: string;
      role: string;
      warehouses: string[];
      refused: boolean;
      tokens_not_before: Date | null;
    }[] = await this.db.query(
      `SELECT u.tenant_id, u.role, u.warehouses, u.disabled OR NOT ${tenantOf.active('u.tenant_id')} AS refused,
                u.tokens_not_before
         FROM users u
         WHERE u.id = $1
           AND ${tenantOf.exists('u.tenant_id')}`,
      [userId],
    );
    return row
      ? {
          tenantId: row.tenant_id,
          role: row.role,
          warehouses: row.warehouses,
          refused: row.refused,
          tokensNotBefore: row.tokens_not_before,
        }
      : null;
  }

  /** Tenants that have at least one admin who is not disabled. */
  async tenantsWithActiveAdmins(): Promise<string[]> {
    const rows: { tenant_id: string }[] = await this.db.query(
      `SELECT DISTINCT tenant_id
       FROM users
       WHERE role = 'admin' AND NOT disabled`,
    );
    return rows.map((r) => r.tenant_id);
  }
}
