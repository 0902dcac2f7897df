import { Injectable } from '@nestjs/common';
import { ApiConfig } from '../api-config.js';
import { AccessChanges, AuditService, changedRows, DomainError, hashSetPasswordCode } from '@wms/events';
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
  role: Role;
  warehouses: string[];
  phone?: string;
  timeZone?: string;
}
export interface UserChange {
  role?: Role;
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

interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  display_name: string;
  password_hash: string;
  role: Role;
  warehouses: string[];
  disabled: boolean;
  suspended: boolean;
}

/** Sign-in, sessions, and the admin actions on people, devices and integrations (each audited). */
@Injectable()
export class AuthService {
  constructor(
    private readonly db: DataSource,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    private readonly config: ApiConfig,
    private readonly changes: AccessChanges,
  ) {}

  /**
   * Five wrong passwords in a row lock the email for a while, whether or not it has an account, and every
   * answer costs one password hash: neither the answer nor its timing tells whether an account exists.
   */
  async login(email: string, password: string): Promise<Session> {
    const key = email.toLowerCase();
    const user = await this.db.transaction(async (m) => {
      // One row per email, taken for update, so concurrent guesses at one email are counted one by one.
      // Failures older than the lockout window are forgotten.
      const [failed] = await m.query(
        `INSERT INTO login_failures (email) VALUES ($1)
         ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
         RETURNING CASE WHEN updated_at < now() - make_interval(mins => $2) THEN 0 ELSE failures END AS failures, locked_until`,
        [key, this.config.LOGIN_LOCKOUT_MINUTES],
      );
      const [row]: UserRow[] = await m.query(
        `SELECT u.*, t.suspended_at IS NOT NULL AS suspended
         FROM users u
         JOIN tenants t ON t.id = u.tenant_id
         WHERE lower(u.email) = $1`,
        [key],
      );
      if (failed.locked_until && failed.locked_until > new Date()) {
        await verifyPassword(password, DUMMY_HASH);
        return LOCKED(failed.locked_until);
      }
      const usable = row && !row.disabled && row.password_hash.startsWith('scrypt$');
      const matches = await verifyPassword(password, usable ? row.password_hash : DUMMY_HASH);
      if (usable && matches) {
        await m.query(`DELETE FROM login_failures WHERE email = $1`, [key]);
        return row.suspended ? TENANT_SUSPENDED() : row;
      }
      if (failed.failures + 1 < this.config.LOGIN_MAX_FAILURES) {
        await m.query(`UPDATE login_failures SET failures = $2, updated_at = now() WHERE email = $1`, [
          key,
          failed.failures + 1,
        ]);
        return INVALID_CREDENTIALS();
      }
      await m.query(
        `UPDATE login_failures SET failures = 0, locked_until = now() + make_interval(mins => $2), updated_at = now() WHERE email = $1`,
        [key, this.config.LOGIN_LOCKOUT_MINUTES],
      );
      if (row)
        await this.audit.record(
          {
            tenantId: row.tenant_id,
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
    return this.db.transaction(async (m) => {
      const [used] = await changedRows(
        m,
        `UPDATE set_password_codes SET used_at = now() WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id`,
        [hashSetPasswordCode(code)],
      );
      if (!used)
        throw new DomainError(
          'AUTH.INVALID_SET_PASSWORD_CODE',
          'this code is invalid, expired or already used; ask your operator for a new one',
          'unauthenticated',
          [{ field: 'code', reason: 'invalid, expired or already used' }],
        );
      const [user] = await changedRows<UserRow & { suspended: boolean }>(
        m,
        `UPDATE users u SET password_hash = $2 FROM tenants t
         WHERE u.id = $1 AND t.id = u.tenant_id AND NOT u.disabled
         RETURNING u.*, t.suspended_at IS NOT NULL AS suspended`,
        [used.user_id, hash],
      );
      if (!user)
        throw new DomainError(
          'AUTH.INVALID_SET_PASSWORD_CODE',
          'this account is disabled; ask an admin',
          'unauthenticated',
          [{ field: 'code', reason: 'account disabled' }],
        );
      if (user.suspended) throw TENANT_SUSPENDED();
      await this.audit.record(
        {
          tenantId: user.tenant_id,
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
    return this.db.transaction(async (m) => {
      const [row] = await changedRows(
        m,
        `UPDATE refresh_tokens
         SET revoked_at = now()
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
         RETURNING user_id`,
        [sha256(refreshToken)],
      );
      const userId = row?.user_id;
      if (!userId)
        throw new DomainError(
          'AUTH.INVALID_REFRESH_TOKEN',
          'refresh token is invalid, expired or already used; sign in again',
          'unauthenticated',
          [{ field: 'refreshToken', reason: 'invalid, expired or already used' }],
        );
      const [user]: UserRow[] = await m.query(
        `SELECT u.*, t.suspended_at IS NOT NULL AS suspended
         FROM users u
         JOIN tenants t ON t.id = u.tenant_id
         WHERE u.id = $1 AND NOT u.disabled`,
        [userId],
      );
      if (!user) throw INVALID_CREDENTIALS();
      if (user.suspended) throw TENANT_SUSPENDED();
      return this.session(m, user);
    });
  }

  async logout(refreshToken: string): Promise<void> {
    await this.db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, [
      sha256(refreshToken),
    ]);
  }

  private async session(m: EntityManager, user: UserRow): Promise<Session> {
    const refresh = this.tokens.newOpaque(REFRESH_PREFIX);
    await m.query(
      `INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(days => $4))`,
      [uuidv7(), user.id, refresh.hash, this.config.REFRESH_TOKEN_TTL_DAYS],
    );
    const accessToken = await this.tokens.signAccess({
      id: user.id,
      tenantId: user.tenant_id,
      role: user.role,
      warehouses: user.warehouses,
    });
    return {
      accessToken,
      refreshToken: refresh.token,
      expiresIn: this.config.ACCESS_TOKEN_TTL_S,
      user: {
        id: user.id,
        email: user.email,
        displayName: user.display_name,
        role: user.role,
        warehouses: user.warehouses,
      },
    };
  }

  // ── admin actions ───────────────────────────────────────────────────────────

  async createUser(admin: Principal, input: NewUser): Promise<Session['user']> {
    const id = uuidv7();
    const hash = await hashPassword(input.password);
    return this.db.transaction(async (m) => {
      const [taken] = await m.query(`SELECT 1 FROM users WHERE lower(email) = lower($1)`, [input.email]);
      if (taken)
        throw new DomainError('USER.EMAIL_TAKEN', `${input.email} already has an account`, 'conflict', [
          { field: 'email', reason: 'already has an account' },
        ]);
      await m.query(
        `INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, warehouses, phone, time_zone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          id,
          admin.tenantId,
          input.email,
          input.displayName,
          hash,
          input.role,
          input.warehouses,
          input.phone ?? null,
          input.timeZone ?? 'UTC',
        ],
      );
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
    const rows: Pick<UserRow, 'id' | 'email' | 'display_name' | 'role' | 'warehouses' | 'disabled'>[] =
      await this.db.query(
        `SELECT id, email, display_name, role, warehouses, disabled
       FROM users
       WHERE tenant_id = $1
       ORDER BY email`,
        [admin.tenantId],
      );
    return rows.map((r) => ({
      id: r.id,
      email: r.email,
      displayName: r.display_name,
      role: r.role,
      warehouses: r.warehouses,
      disabled: r.disabled,
    }));
  }

  async updateUser(admin: Principal, userId: string, change: UserChange): Promise<Session['user']> {
    return this.db.transaction(async (m) => {
      const [before] = await m.query(`SELECT * FROM users WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [
        userId,
        admin.tenantId,
      ]);
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
      const [after] = await changedRows<UserRow>(
        m,
        `UPDATE users
         SET role = coalesce($2, role), warehouses = coalesce($3, warehouses), disabled = coalesce($4, disabled)
         WHERE id = $1
         RETURNING *`,
        [userId, change.role ?? null, change.warehouses ?? null, change.disabled ?? null],
      );
      if (change.disabled) {
        // Cut every session: refresh tokens now, access tokens issued so far even if the person is enabled again.
        await m.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [
          userId,
        ]);
        await m.query(`UPDATE users SET tokens_not_before = now() WHERE id = $1`, [userId]);
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
      return {
        id: after.id,
        email: after.email,
        displayName: after.display_name,
        role: after.role,
        warehouses: after.warehouses,
      };
    });
  }

  /** Lifts a sign-in lockout of one of the tenant's people at once (it also ends by itself after LOGIN_LOCKOUT_MINUTES). */
  async unlockUser(admin: Principal, userId: string): Promise<{ id: string; unlocked: boolean }> {
    return this.db.transaction(async (m) => {
      const [user] = await m.query(`SELECT email FROM users WHERE id = $1 AND tenant_id = $2`, [
        userId,
        admin.tenantId,
      ]);
      if (!user)
        throw new DomainError('USER.UNKNOWN', `no user ${userId} in this tenant`, 'not_found', [
          { field: 'id', reason: 'no such user' },
        ]);
      const removed = await changedRows(
        m,
        `DELETE FROM login_failures WHERE email = lower($1) RETURNING locked_until`,
        [user.email],
      );
      const unlocked = removed.some((r) => r.locked_until && r.locked_until > new Date());
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
   * working until it is revoked, so the integration can switch over without downtime.
   */
  async rotateApiKey(admin: Principal, id: string): Promise<IssuedCredential> {
    const [old] = await this.db.query(
      `SELECT name, warehouses, integration_id FROM api_keys WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL`,
      [id, admin.tenantId],
    );
    if (!old)
      throw new DomainError('CREDENTIAL.UNKNOWN', `no active API key ${id} in this tenant`, 'not_found', [
        { field: 'id', reason: 'no such active API key' },
      ]);
    return this.issue(admin, 'api_key.rotated', {
      name: old.name,
      warehouses: old.warehouses,
      integrationId: old.integration_id,
      rotatedFrom: id,
    });
  }

  revokeDevice(admin: Principal, id: string): Promise<{ id: string; revoked: true }> {
    return this.revoke(admin, 'device_tokens', 'device.revoked', id);
  }

  revokeApiKey(admin: Principal, id: string): Promise<{ id: string; revoked: true }> {
    return this.revoke(admin, 'api_keys', 'api_key.revoked', id);
  }

  /** A device token, or an API key when `integrationId` is given. */
  private async issue(
    admin: Principal,
    action: string,
    c: { name: string; warehouses: string[]; integrationId?: string; rotatedFrom?: string },
  ): Promise<IssuedCredential> {
    const id = uuidv7();
    const { token, hash } = this.tokens.newOpaque(c.integrationId ? API_KEY_PREFIX : DEVICE_TOKEN_PREFIX);
    await this.db.transaction(async (m) => {
      if (c.integrationId) {
        await m.query(
          `INSERT INTO api_keys (id, tenant_id, name, token_hash, warehouses, created_by, integration_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [id, admin.tenantId, c.name, hash, c.warehouses, admin.id, c.integrationId],
        );
      } else {
        await m.query(
          `INSERT INTO device_tokens (id, tenant_id, name, token_hash, warehouses, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
          [id, admin.tenantId, c.name, hash, c.warehouses, admin.id],
        );
      }
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
    table: string,
    action: string,
    id: string,
  ): Promise<{ id: string; revoked: true }> {
    await this.db.transaction(async (m) => {
      const [row] = await changedRows(
        m,
        `UPDATE ${table} SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL RETURNING id`,
        [id, admin.tenantId],
      );
      if (!row)
        throw new DomainError('CREDENTIAL.UNKNOWN', `no active credential ${id} in this tenant`, 'not_found', [
          { field: 'id', reason: 'no such active credential' },
        ]);
      await this.audit.record({ tenantId: admin.tenantId, actor: actorOf(admin), action, target: id }, m);
      await this.changes.announce(m, { kind: 'credential', id });
    });
    return { id, revoked: true };
  }
}
