import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { AuditService } from '../audit/audit.service.js';
import { changedRows } from '../database/changed-rows.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { DomainError } from '../errors/domain-error.js';
import { AccessChanges } from './access-changes.js';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string | null;
  suspendedAt: string | null;
  suspendedReason: string | null;
}

export interface NewTenant {
  id: string;
  name: string;
  adminEmail: string;
  adminName: string;
}

export interface ProvisionedTenant {
  tenant: Tenant;
  admin: { id: string; email: string };
  /** Shown once: the first admin sets their password with it (POST /auth/set-password); only its hash is kept. */
  setPasswordCode: string;
  setPasswordExpiresAt: string;
}

/** Who provisions: an admin of the operating tenant (OPS_TENANT), through the api or the CLI. */
export interface Operator {
  tenantId: string;
  actor: EventActor;
}

export const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const SET_PASSWORD_PREFIX = 'wmsp';
const SET_PASSWORD_TTL_HOURS = 72;
// Never matches a password: an account whose owner has not set one yet cannot be signed in to.
const NO_PASSWORD = 'unset';

export const hashSetPasswordCode = (code: string) => createHash('sha256').update(code).digest('hex');

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

const unknownTenant = (id: string) =>
  new DomainError('TENANT.UNKNOWN', `no tenant ${id}`, 'not_found', [{ field: 'id', reason: 'no such tenant' }]);

/**
 * Tenants of the installation: created with their first admin, suspended (every person, device and key of
 * theirs refused at once, their data kept) and resumed. Every action is audited in the operating tenant's
 * log and in the tenant's own.
 */
@Injectable()
export class TenantsService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly changes: AccessChanges,
  ) {}

  async list(): Promise<Tenant[]> {
    const rows: TenantRow[] = await this.db.query(`SELECT * FROM tenants ORDER BY id`);
    return rows.map(toTenant);
  }

  async create(by: Operator, input: NewTenant): Promise<ProvisionedTenant> {
    if (!TENANT_ID.test(input.id))
      throw new DomainError('TENANT.INVALID_ID', 'id must be 2-63 lower-case letters, digits or "-"', 'invalid', [
        { field: 'id', reason: 'must be 2-63 of a-z, 0-9, "-"' },
      ]);
    return this.db.transaction(async (m) => {
      const [created] = await m.query(
        `INSERT INTO tenants (id, name, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING *`,
        [input.id, input.name, `${by.actor.type}:${by.actor.id}`],
      );
      if (!created)
        throw new DomainError('TENANT.EXISTS', `tenant ${input.id} already exists`, 'conflict', [
          { field: 'id', reason: 'already exists' },
        ]);
      const adminId = uuidv7();
      const [user] = await m.query(
        `INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, warehouses)
         VALUES ($1, $2, $3, $4, $5, 'admin', '{}')
         ON CONFLICT (lower(email)) DO NOTHING
         RETURNING id`,
        [adminId, input.id, input.adminEmail, input.adminName, NO_PASSWORD],
      );
      if (!user)
        throw new DomainError('USER.EMAIL_TAKEN', `${input.adminEmail} already has an account`, 'conflict', [
          { field: 'adminEmail', reason: 'already has an account' },
        ]);
      const code = await this.issueSetPasswordCode(m, adminId);
      const details = { tenant: input.id, name: input.name, admin: { id: adminId, email: input.adminEmail } };
      await this.recordBoth(m, by, input.id, 'tenant.created', details);
      return {
        tenant: toTenant(created),
        admin: { id: adminId, email: input.adminEmail },
        setPasswordCode: code.code,
        setPasswordExpiresAt: code.expiresAt,
      };
    });
  }

  async suspend(by: Operator, id: string, reason: string): Promise<Tenant> {
    if (id === by.tenantId)
      throw new DomainError('TENANT.OPERATING', 'the operating tenant cannot suspend itself', 'conflict', [
        { field: 'id', reason: 'is the operating tenant' },
      ]);
    return this.change(
      by,
      id,
      'tenant.suspended',
      { reason },
      `UPDATE tenants SET suspended_at = coalesce(suspended_at, now()), suspended_reason = $2 WHERE id = $1 RETURNING *`,
      [id, reason],
    );
  }

  async resume(by: Operator, id: string): Promise<Tenant> {
    return this.change(
      by,
      id,
      'tenant.resumed',
      {},
      `UPDATE tenants SET suspended_at = NULL, suspended_reason = NULL WHERE id = $1 RETURNING *`,
      [id],
    );
  }

  /**
   * A new one-time code for an admin of `tenantId` who has not set a password yet (the first code expired or
   * was lost); earlier codes stop working. An account that has a password is never taken over this way.
   */
  async reissueAdminCode(
    by: Operator,
    tenantId: string,
    email: string,
  ): Promise<{ setPasswordCode: string; setPasswordExpiresAt: string }> {
    return this.db.transaction(async (m) => {
      const [user] = await m.query(
        `SELECT id FROM users WHERE tenant_id = $1 AND lower(email) = lower($2) AND role = 'admin' AND password_hash = $3 FOR UPDATE`,
        [tenantId, email, NO_PASSWORD],
      );
      if (!user) {
        throw new DomainError(
          'TENANT.NO_PENDING_ADMIN',
          `${tenantId} has no admin ${email} waiting to set a password`,
          'not_found',
          [{ field: 'email', reason: 'no admin of this tenant without a password' }],
        );
      }
      await m.query(`UPDATE set_password_codes SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, [user.id]);
      const code = await this.issueSetPasswordCode(m, user.id);
      await this.recordBoth(m, by, tenantId, 'tenant.admin_code_issued', { admin: { id: user.id, email } });
      return { setPasswordCode: code.code, setPasswordExpiresAt: code.expiresAt };
    });
  }

  /** A one-time code with which `userId` sets their password; the code itself is returned once, only its hash kept. */
  async issueSetPasswordCode(m: EntityManager, userId: string): Promise<{ code: string; expiresAt: string }> {
    const code = `${SET_PASSWORD_PREFIX}_${randomBytes(24).toString('base64url')}`;
    const [row] = await m.query(
      `INSERT INTO set_password_codes (code_hash, user_id, expires_at)
       VALUES ($1, $2, now() + make_interval(hours => $3))
       RETURNING expires_at`,
      [hashSetPasswordCode(code), userId, SET_PASSWORD_TTL_HOURS],
    );
    return { code, expiresAt: row.expires_at.toISOString() };
  }

  private async change(
    by: Operator,
    id: string,
    action: string,
    details: Record<string, unknown>,
    sql: string,
    params: unknown[],
  ): Promise<Tenant> {
    return this.db.transaction(async (m) => {
      const [row] = await changedRows<TenantRow>(m, sql, params);
      if (!row) throw unknownTenant(id);
      await this.recordBoth(m, by, id, action, details);
      await this.changes.announce(m, { kind: 'tenant', id });
      return toTenant(row);
    });
  }

  private async recordBoth(
    m: EntityManager,
    by: Operator,
    tenantId: string,
    action: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.record({ tenantId: by.tenantId, actor: by.actor, action, target: tenantId, details }, m);
    if (tenantId !== by.tenantId)
      await this.audit.record(
        { tenantId, actor: by.actor, action, target: tenantId, details: { ...details, by: by.tenantId } },
        m,
      );
  }
}
