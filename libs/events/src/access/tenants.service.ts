import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { AuditService } from '../audit/audit.service.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { DomainError } from '../errors/domain-error.js';
import { AccessChanges } from './access-changes.js';
import { SignInRepository } from './sign-in.repository.js';
import { type Tenant, TenantsRepository } from './tenants.repository.js';
import { NO_PASSWORD } from './user-account.js';
import { UsersRepository } from './users.repository.js';
import { unitOfWork } from '../database/unit-of-work.js';

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

export const hashSetPasswordCode = (code: string) => createHash('sha256').update(code).digest('hex');

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
    private readonly tenants: TenantsRepository,
    private readonly users: UsersRepository,
    private readonly signIn: SignInRepository,
  ) {}

  list(): Promise<Tenant[]> {
    return this.tenants.all();
  }

  async create(by: Operator, input: NewTenant): Promise<ProvisionedTenant> {
    if (!TENANT_ID.test(input.id))
      throw new DomainError('TENANT.INVALID_ID', 'id must be 2-63 lower-case letters, digits or "-"', 'invalid', [
        { field: 'id', reason: 'must be 2-63 of a-z, 0-9, "-"' },
      ]);
    return unitOfWork(this.db, async (m) => {
      const created = await this.tenants.insert(m, {
        id: input.id,
        name: input.name,
        createdBy: `${by.actor.type}:${by.actor.id}`,
      });
      if (!created)
        throw new DomainError('TENANT.EXISTS', `tenant ${input.id} already exists`, 'conflict', [
          { field: 'id', reason: 'already exists' },
        ]);
      const adminId = uuidv7();
      const added = await this.users.insert(m, {
        id: adminId,
        tenantId: input.id,
        email: input.adminEmail,
        displayName: input.adminName,
        passwordHash: NO_PASSWORD,
        role: 'admin',
        warehouses: [],
      });
      if (!added)
        throw new DomainError('USER.EMAIL_TAKEN', `${input.adminEmail} already has an account`, 'conflict', [
          { field: 'adminEmail', reason: 'already has an account' },
        ]);
      const code = await this.issueSetPasswordCode(m, adminId);
      const details = { tenant: input.id, name: input.name, admin: { id: adminId, email: input.adminEmail } };
      await this.recordBoth(m, by, input.id, 'tenant.created', details);
      return {
        tenant: created,
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
    return this.change(by, id, 'tenant.suspended', { reason }, (m) => this.tenants.suspend(m, id, reason));
  }

  async resume(by: Operator, id: string): Promise<Tenant> {
    return this.change(by, id, 'tenant.resumed', {}, (m) => this.tenants.resume(m, id));
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
    return unitOfWork(this.db, async (m) => {
      const userId = await this.users.pendingAdmin(m, tenantId, email);
      if (!userId) {
        throw new DomainError(
          'TENANT.NO_PENDING_ADMIN',
          `${tenantId} has no admin ${email} waiting to set a password`,
          'not_found',
          [{ field: 'email', reason: 'no admin of this tenant without a password' }],
        );
      }
      await this.signIn.voidSetPasswordCodes(m, userId);
      const code = await this.issueSetPasswordCode(m, userId);
      await this.recordBoth(m, by, tenantId, 'tenant.admin_code_issued', { admin: { id: userId, email } });
      return { setPasswordCode: code.code, setPasswordExpiresAt: code.expiresAt };
    });
  }

  /** A one-time code with which `userId` sets their password; the code itself is returned once, only its hash kept. */
  async issueSetPasswordCode(m: EntityManager, userId: string): Promise<{ code: string; expiresAt: string }> {
    const code = `${SET_PASSWORD_PREFIX}_${randomBytes(24).toString('base64url')}`;
    const expiresAt = await this.signIn.addSetPasswordCode(
      m,
      hashSetPasswordCode(code),
      userId,
      SET_PASSWORD_TTL_HOURS,
    );
    return { code, expiresAt: expiresAt.toISOString() };
  }

  private async change(
    by: Operator,
    id: string,
    action: string,
    details: Record<string, unknown>,
    apply: (m: EntityManager) => Promise<Tenant | null>,
  ): Promise<Tenant> {
    return unitOfWork(this.db, async (m) => {
      const tenant = await apply(m);
      if (!tenant) throw unknownTenant(id);
      await this.recordBoth(m, by, id, action, details);
      await this.changes.announce(m, { kind: 'tenant', id });
      return tenant;
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
