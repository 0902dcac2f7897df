import { Injectable } from '@nestjs/common';
import { ApiConfig } from '../api-config.js';
import {
  AccessChanges,
  AuditService,
  type CredentialKind,
  CredentialsRepository,
  DomainError,
  hashSetPasswordCode,
  type SessionAccount,
  type UserAccount,
  type UserRole,
  SessionsRepository,
  SignInRepository,
  UsersRepository,
  unitOfWork,
} from '@wms/events';
import { MasterDataRepository } from '@wms/wms-domain';
import { DataSource, type EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.js';
import { actorOf, type Principal, type Role } from './principal.js';
import { API_KEY_PREFIX, DEVICE_TOKEN_PREFIX, sha256, TokenService } from './token.service.js';

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: { id: string; email: string; displayName: string; role: Role; warehouses: string[] };
}

export interface NewUser {
  email: string;
  displayName: string;
  password: string;
  role: UserRole;
  warehouses: string[];
  phone?: string;
  timeZone?: string;
}
export interface UserChange {
  role?: UserRole;
  warehouses?: string[];
  disabled?: boolean;
}
export interface IssuedCredential {
  id: string;
  name: string;
  warehouses: string[];
  token: string;
  integrationId?: string;
}

const REFRESH_PREFIX = 'wmsr';
const INVALID_CREDENTIALS = () =>
  new DomainError('AUTH.INVALID_CREDENTIALS', 'wrong email or password', 'unauthenticated', [
    { field: 'password', reason: 'wrong email or password' },
  ]);
const LOCKED = (until: Date) =>
  new DomainError(
    'AUTH.LOCKED',
    `too many failed sign-ins; try again after ${until.toISOString()} or ask an admin`,
    'too_many',
    [{ field: 'email', reason: 'temporarily locked' }],
  );
const TENANT_SUSPENDED = () =>
  new DomainError(
    'AUTH.TENANT_SUSPENDED',
    "your organisation's access is suspended; contact your operator",
    'forbidden',
    [{ field: 'email', reason: 'tenant suspended' }],
  );

const publicUser = (u: SessionAccount | UserAccount): Session['user'] => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName,
  role: u.role,
  warehouses: u.warehouses,
});

/** Sign-in, sessions, and the admin actions on people, devices and integrations (each audited). */
@Injectable()
export class AuthService {
  constructor(
    private readonly db: DataSource,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    private readonly config: ApiConfig,
    private readonly changes: AccessChanges,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly signIn: SignInRepository,
    private readonly credentials: CredentialsRepository,
    private readonly masterData: MasterDataRepository,
  ) {}

  /**
   * Five wrong passwords in a row lock the email for a while, whether or not it has an account, and every
   * answer costs one password hash: neither the answer nor its timing tells whether an account exists.
   */
  async login(email: string, password: string): Promise<Session> {
    const key = email.toLowerCase();
    const user = await unitOfWork(this.db, async (m) => {
      const failed = await this.signIn.failuresFor(m, key, this.config.LOGIN_LOCKOUT_MINUTES);
      const row = await this.users.forSignIn(m, key);
      if (failed.lockedUntil && failed.lockedUntil > new Date()) {
        await verifyPassword(password, DUMMY_HASH);
        return LOCKED(failed.lockedUntil);
      }
      const usable = row && !row.disabled && row.passwordHash.startsWith('scrypt$');
      const matches = await verifyPassword(password, usable ? row.passwordHash : DUMMY_HASH);
      if (usable && matches) {
        await this.signIn.clearFailures(m, key);
        return row.tenantSuspended ? TENANT_SUSPENDED() : row;
      }
      if (failed.failures + 1 < this.config.LOGIN_MAX_FAILURES) {
        await this.signIn.countFailure(m, key, failed.failures + 1);
        return INVALID_CREDENTIALS();
      }
      await this.signIn.lock(m, key, this.config.LOGIN_LOCKOUT_MINUTES);
      if (row)
        await this.audit.record(
          {
            tenantId: row.tenantId,
            actor: { type: 'system', id: 'auth' },
            action: 'user.locked',
            target: row.id,
            details: { email: row.email, failures: failed.failures + 1 },
          },
          m,
        );
      return INVALID_CREDENTIALS();
    });
    if (user instanceof DomainError) throw user;
    return this.session(this.db.manager, user);
  }

  /** A new tenant's first admin (or anyone given a code) sets their password with a one-time code, and is signed in. */
  async setPassword(code: string, password: string): Promise<Session> {
    const hash = await hashPassword(password);
    return unitOfWork(this.db, async (m) => {
      const userId = await this.signIn.useSetPasswordCode(m, hashSetPasswordCode(code));
      if (!userId)
        throw new DomainError(
          'AUTH.INVALID_SET_PASSWORD_CODE',
          'this code is invalid, expired or already used; ask your operator for a new one',
          'unauthenticated',
          [{ field: 'code', reason: 'invalid, expired or already used' }],
        );
      const user = await this.users.setPassword(m, userId, hash);
      if (!user)
        throw new DomainError(
          'AUTH.INVALID_SET_PASSWORD_CODE',
          'this account is disabled; ask an admin',
          'unauthenticated',
          [{ field: 'code', reason: 'account disabled' }],
        );
      if (user.tenantSuspended) throw TENANT_SUSPENDED();
      await this.audit.record(
        {
          tenantId: user.tenantId,
          actor: { type: 'user', id: user.id },
          action: 'user.password_set',
          target: user.id,
        },
        m,
      );
      return this.session(m, user);
    });
  }

  /** Exchanges a refresh token for a new session; the old refresh token stops working (rotation). */
  async refresh(refreshToken: string): Promise<Session> {
    return unitOfWork(this.db, async (m) => {
      const userId = await this.sessions.useUp(m, sha256(refreshToken));
      if (!userId)
        throw new DomainError(
          'AUTH.INVALID_REFRESH_TOKEN',
          'refresh token is invalid, expired or already used; sign in again',
          'unauthenticated',
          [{ field: 'refreshToken', reason: 'invalid, expired or already used' }],
        );
      const user = await this.users.enabledForSession(m, userId);
      if (!user) throw INVALID_CREDENTIALS();
      if (user.tenantSuspended) throw TENANT_SUSPENDED();
      return this.session(m, user);
    });
  }

  async logout(refreshToken: string): Promise<void> {
    await this.sessions.revoke(sha256(refreshToken));
  }

  private async session(m: EntityManager, user: SessionAccount): Promise<Session> {
    const refresh = this.tokens.newOpaque(REFRESH_PREFIX);
    await this.sessions.open(m, user.id, refresh.hash, this.config.REFRESH_TOKEN_TTL_DAYS);
    const accessToken = await this.tokens.signAccess(user);
    return {
      accessToken,
      refreshToken: refresh.token,
      expiresIn: this.config.ACCESS_TOKEN_TTL_S,
      user: publicUser(user),
    };
  }

  // ── admin actions ───────────────────────────────────────────────────────────

  async createUser(admin: Principal, input: NewUser): Promise<Session['user']> {
    const id = uuidv7();
    const hash = await hashPassword(input.password);
    return unitOfWork(this.db, async (m) => {
      await this.masterData.assertWarehouses(m, admin.tenantId, input.warehouses);
      const added = await this.users.insert(m, {
        id,
        tenantId: admin.tenantId,
        email: input.email,
        displayName: input.displayName,
        passwordHash: hash,
        role: input.role,
        warehouses: input.warehouses,
        phone: input.phone,
        timeZone: input.timeZone,
      });
      if (!added)
        throw new DomainError('USER.EMAIL_TAKEN', `${input.email} already has an account`, 'conflict', [
          { field: 'email', reason: 'already has an account' },
        ]);
      await this.audit.record(
        {
          tenantId: admin.tenantId,
          actor: actorOf(admin),
          action: 'user.created',
          target: id,
          details: { email: input.email, role: input.role, warehouses: input.warehouses },
        },
        m,
      );
      return { id, email: input.email, displayName: input.displayName, role: input.role, warehouses: input.warehouses };
    });
  }

  async listUsers(admin: Principal): Promise<Session['user'][]> {
    return this.users.listInTenant(admin.tenantId);
  }

  async updateUser(admin: Principal, userId: string, change: UserChange): Promise<Session['user']> {
    return unitOfWork(this.db, async (m) => {
      const before = await this.users.inTenant(m, admin.tenantId, userId, true);
      if (!before)
        throw new DomainError('USER.UNKNOWN', `no user ${userId} in this tenant`, 'not_found', [
          { field: 'id', reason: 'no such user' },
        ]);
      if (userId === admin.id && change.role && change.role !== 'admin')
        throw new DomainError(
          'USER.SELF_DEMOTION',
          'admins cannot take their own admin role away; ask another admin',
          'conflict',
          [{ field: 'role', reason: 'cannot demote yourself' }],
        );
      if (change.warehouses) await this.masterData.assertWarehouses(m, admin.tenantId, change.warehouses);
      const after = await this.users.update(m, userId, change);
      if (change.disabled) {
        // Cut every session: refresh tokens now, access tokens issued so far even if the person is enabled again.
        await this.sessions.revokeAllOf(m, userId);
        await this.users.refuseTokensIssuedUntilNow(m, userId);
      }
      await this.changes.announce(m, { kind: 'user', id: userId });
      await this.audit.record(
        {
          tenantId: admin.tenantId,
          actor: actorOf(admin),
          action: change.role && change.role !== before.role ? 'user.role_changed' : 'user.updated',
          target: userId,
          details: {
            before: { role: before.role, warehouses: before.warehouses, disabled: before.disabled },
            after: { role: after.role, warehouses: after.warehouses, disabled: after.disabled },
          },
        },
        m,
      );
      return publicUser(after);
    });
  }

  /** Lifts a sign-in lockout of one of the tenant's people at once (it also ends by itself after LOGIN_LOCKOUT_MINUTES). */
  async unlockUser(admin: Principal, userId: string): Promise<{ id: string; unlocked: boolean }> {
    return unitOfWork(this.db, async (m) => {
      const user = await this.users.inTenant(m, admin.tenantId, userId);
      if (!user)
        throw new DomainError('USER.UNKNOWN', `no user ${userId} in this tenant`, 'not_found', [
          { field: 'id', reason: 'no such user' },
        ]);
      const unlocked = await this.signIn.clearFailures(m, user.email);
      await this.audit.record(
        {
          tenantId: admin.tenantId,
          actor: actorOf(admin),
          action: 'user.unlocked',
          target: userId,
          details: { email: user.email, wasLocked: unlocked },
        },
        m,
      );
      return { id: userId, unlocked };
    });
  }

  issueDevice(admin: Principal, name: string, warehouses: string[]): Promise<IssuedCredential> {
    return this.issue(admin, 'device.issued', { name, warehouses });
  }

  /** A key for a new integration; its rotations (rotateApiKey) belong to the same integration. */
  issueApiKey(admin: Principal, name: string, warehouses: string[]): Promise<IssuedCredential> {
    return this.issue(admin, 'api_key.issued', { name, warehouses, integrationId: uuidv7() });
  }

  /**
   * A new key for the same integration (same name, warehouses and idempotency keys). The old key keeps
   * working until it is revoked, so the integration can switch over without downtime. It names no warehouse
   * of its own, so it is not refused for the old key's (which were checked when that key was issued).
   */
  async rotateApiKey(admin: Principal, id: string): Promise<IssuedCredential> {
    const old = await this.credentials.activeApiKey(admin.tenantId, id);
    if (!old)
      throw new DomainError('CREDENTIAL.UNKNOWN', `no active API key ${id} in this tenant`, 'not_found', [
        { field: 'id', reason: 'no such active API key' },
      ]);
    return this.issue(
      admin,
      'api_key.rotated',
      { name: old.name, warehouses: old.warehouses, integrationId: old.integrationId, rotatedFrom: id },
      false,
    );
  }

  revokeDevice(admin: Principal, id: string): Promise<{ id: string; revoked: true }> {
    return this.revoke(admin, 'device', 'device.revoked', id);
  }

  revokeApiKey(admin: Principal, id: string): Promise<{ id: string; revoked: true }> {
    return this.revoke(admin, 'api_key', 'api_key.revoked', id);
  }

  /** A device token, or an API key when `integrationId` is given; its warehouses must exist unless `checkWarehouses` is false. */
  private async issue(
    admin: Principal,
    action: string,
    c: { name: string; warehouses: string[]; integrationId?: string; rotatedFrom?: string },
    checkWarehouses = true,
  ): Promise<IssuedCredential> {
    const id = uuidv7();
    const { token, hash } = this.tokens.newOpaque(c.integrationId ? API_KEY_PREFIX : DEVICE_TOKEN_PREFIX);
    await unitOfWork(this.db, async (m) => {
      if (checkWarehouses) await this.masterData.assertWarehouses(m, admin.tenantId, c.warehouses);
      await this.credentials.insert(m, {
        id,
        tenantId: admin.tenantId,
        name: c.name,
        tokenHash: hash,
        warehouses: c.warehouses,
        createdBy: admin.id,
        integrationId: c.integrationId,
      });
      await this.audit.record(
        { tenantId: admin.tenantId, actor: actorOf(admin), action, target: id, details: { ...c } },
        m,
      );
    });
    // The token is shown once; only its hash is kept.
    return {
      id,
      name: c.name,
      warehouses: c.warehouses,
      token,
      ...(c.integrationId ? { integrationId: c.integrationId } : {}),
    };
  }

  private async revoke(
    admin: Principal,
    kind: CredentialKind,
    action: string,
    id: string,
  ): Promise<{ id: string; revoked: true }> {
    await unitOfWork(this.db, async (m) => {
      if (!(await this.credentials.revoke(m, kind, admin.tenantId, id)))
        throw new DomainError('CREDENTIAL.UNKNOWN', `no active credential ${id} in this tenant`, 'not_found', [
          { field: 'id', reason: 'no such active credential' },
        ]);
      await this.audit.record({ tenantId: admin.tenantId, actor: actorOf(admin), action, target: id }, m);
      await this.changes.announce(m, { kind: 'credential', id });
    });
    return { id, revoked: true };
  }
}
