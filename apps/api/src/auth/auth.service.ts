import { Injectable } from '@nestjs/common';
import { AppConfig, AuditService, changedRows, DomainError } from '@wms/events';
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

export interface NewUser { email: string; displayName: string; password: string; role: Role; warehouses: string[]; phone?: string; timeZone?: string }
export interface UserChange { role?: Role; warehouses?: string[]; disabled?: boolean }
export interface IssuedCredential { id: string; name: string; warehouses: string[]; token: string }

const REFRESH_PREFIX = 'wmsr';
const INVALID_CREDENTIALS = () => new DomainError('AUTH.INVALID_CREDENTIALS', 'wrong email or password', 'unauthenticated', [{ field: 'password', reason: 'wrong email or password' }]);

interface UserRow { id: string; tenant_id: string; email: string; display_name: string; password_hash: string; role: Role; warehouses: string[]; failed_logins: number; locked_until: Date | null; disabled: boolean }

/** Sign-in, sessions, and the admin actions on people, devices and integrations (each audited). */
@Injectable()
export class AuthService {
  constructor(
    private readonly db: DataSource,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /** Five wrong passwords in a row lock the account for a while; the lock is audited. */
  async login(email: string, password: string): Promise<Session> {
    const user = await this.db.transaction(async (m) => {
      const [row]: UserRow[] = await m.query(`SELECT * FROM users WHERE lower(email) = lower($1) FOR UPDATE`, [email]);
      if (!row || row.disabled) {
        await verifyPassword(password, DUMMY_HASH);
        return INVALID_CREDENTIALS();
      }
      if (row.locked_until && row.locked_until > new Date()) {
        return new DomainError('AUTH.LOCKED', `too many failed sign-ins; try again after ${row.locked_until.toISOString()} or ask an admin`, 'too_many', [{ field: 'email', reason: 'account temporarily locked' }]);
      }
      if (await verifyPassword(password, row.password_hash)) {
        await m.query(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, [row.id]);
        return row;
      }
      if (row.failed_logins + 1 >= this.config.LOGIN_MAX_FAILURES) {
        await m.query(`UPDATE users SET failed_logins = 0, locked_until = now() + make_interval(mins => $2) WHERE id = $1`, [row.id, this.config.LOGIN_LOCKOUT_MINUTES]);
        await this.audit.record({ tenantId: row.tenant_id, actor: { type: 'system', id: 'auth' }, action: 'user.locked', target: row.id, details: { email: row.email, failures: row.failed_logins + 1 } }, m);
      } else {
        await m.query(`UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1`, [row.id]);
      }
      return INVALID_CREDENTIALS();
    });
    if (user instanceof DomainError) throw user;
    return this.session(this.db.manager, user);
  }

  /** Exchanges a refresh token for a new session; the old refresh token stops working (rotation). */
  async refresh(refreshToken: string): Promise<Session> {
    return this.db.transaction(async (m) => {
      const [row] = await changedRows(m, `UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING user_id`, [sha256(refreshToken)]);
      const userId = row?.user_id;
      if (!userId) throw new DomainError('AUTH.INVALID_REFRESH_TOKEN', 'refresh token is invalid, expired or already used; sign in again', 'unauthenticated', [{ field: 'refreshToken', reason: 'invalid, expired or already used' }]);
      const [user]: UserRow[] = await m.query(`SELECT * FROM users WHERE id = $1 AND NOT disabled`, [userId]);
      if (!user) throw INVALID_CREDENTIALS();
      return this.session(m, user);
    });
  }

  async logout(refreshToken: string): Promise<void> {
    await this.db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, [sha256(refreshToken)]);
  }

  private async session(m: EntityManager, user: UserRow): Promise<Session> {
    const refresh = this.tokens.newOpaque(REFRESH_PREFIX);
    await m.query(`INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(days => $4))`, [uuidv7(), user.id, refresh.hash, this.config.REFRESH_TOKEN_TTL_DAYS]);
    const accessToken = await this.tokens.signAccess({ id: user.id, tenantId: user.tenant_id, role: user.role, warehouses: user.warehouses });
    return {
      accessToken,
      refreshToken: refresh.token,
      expiresIn: this.config.ACCESS_TOKEN_TTL_S,
      user: { id: user.id, email: user.email, displayName: user.display_name, role: user.role, warehouses: user.warehouses },
    };
  }

  // ── admin actions ───────────────────────────────────────────────────────────

  async createUser(admin: Principal, input: NewUser): Promise<Session['user']> {
    const id = uuidv7();
    const hash = await hashPassword(input.password);
    return this.db.transaction(async (m) => {
      const [taken] = await m.query(`SELECT 1 FROM users WHERE lower(email) = lower($1)`, [input.email]);
      if (taken) throw new DomainError('USER.EMAIL_TAKEN', `${input.email} already has an account`, 'conflict', [{ field: 'email', reason: 'already has an account' }]);
      await m.query(
        `INSERT INTO users (id, tenant_id, email, display_name, password_hash, role, warehouses, phone, time_zone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [id, admin.tenantId, input.email, input.displayName, hash, input.role, input.warehouses, input.phone ?? null, input.timeZone ?? 'UTC'],
      );
      await this.audit.record({ tenantId: admin.tenantId, actor: actorOf(admin), action: 'user.created', target: id, details: { email: input.email, role: input.role, warehouses: input.warehouses } }, m);
      return { id, email: input.email, displayName: input.displayName, role: input.role, warehouses: input.warehouses };
    });
  }

  async listUsers(admin: Principal): Promise<Session['user'][]> {
    const rows = await this.db.query(`SELECT id, email, display_name, role, warehouses, disabled FROM users WHERE tenant_id = $1 ORDER BY email`, [admin.tenantId]);
    return rows.map((r: Record<string, any>) => ({ id: r.id, email: r.email, displayName: r.display_name, role: r.role, warehouses: r.warehouses, disabled: r.disabled }));
  }

  async updateUser(admin: Principal, userId: string, change: UserChange): Promise<Session['user']> {
    return this.db.transaction(async (m) => {
      const [before] = await m.query(`SELECT * FROM users WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [userId, admin.tenantId]);
      if (!before) throw new DomainError('USER.UNKNOWN', `no user ${userId} in this tenant`, 'not_found', [{ field: 'id', reason: 'no such user' }]);
      if (userId === admin.id && change.role && change.role !== 'admin') throw new DomainError('USER.SELF_DEMOTION', 'admins cannot take their own admin role away; ask another admin', 'conflict', [{ field: 'role', reason: 'cannot demote yourself' }]);
      const [after] = await changedRows<UserRow>(
        m,
        `UPDATE users SET role = coalesce($2, role), warehouses = coalesce($3, warehouses), disabled = coalesce($4, disabled) WHERE id = $1 RETURNING *`,
        [userId, change.role ?? null, change.warehouses ?? null, change.disabled ?? null],
      );
      if (change.disabled) await m.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
      await this.audit.record({
        tenantId: admin.tenantId,
        actor: actorOf(admin),
        action: change.role && change.role !== before.role ? 'user.role_changed' : 'user.updated',
        target: userId,
        details: { before: { role: before.role, warehouses: before.warehouses, disabled: before.disabled }, after: { role: after.role, warehouses: after.warehouses, disabled: after.disabled } },
      }, m);
      return { id: after.id, email: after.email, displayName: after.display_name, role: after.role, warehouses: after.warehouses };
    });
  }

  issueDevice(admin: Principal, name: string, warehouses: string[]): Promise<IssuedCredential> {
    return this.issue(admin, 'device_tokens', DEVICE_TOKEN_PREFIX, 'device.issued', name, warehouses);
  }

  issueApiKey(admin: Principal, name: string, warehouses: string[]): Promise<IssuedCredential> {
    return this.issue(admin, 'api_keys', API_KEY_PREFIX, 'api_key.issued', name, warehouses);
  }

  revokeDevice(admin: Principal, id: string): Promise<{ id: string; revoked: true }> {
    return this.revoke(admin, 'device_tokens', 'device.revoked', id);
  }

  revokeApiKey(admin: Principal, id: string): Promise<{ id: string; revoked: true }> {
    return this.revoke(admin, 'api_keys', 'api_key.revoked', id);
  }

  private async issue(admin: Principal, table: string, prefix: string, action: string, name: string, warehouses: string[]): Promise<IssuedCredential> {
    const id = uuidv7();
    const { token, hash } = this.tokens.newOpaque(prefix);
    await this.db.transaction(async (m) => {
      await m.query(`INSERT INTO ${table} (id, tenant_id, name, token_hash, warehouses, created_by) VALUES ($1, $2, $3, $4, $5, $6)`, [id, admin.tenantId, name, hash, warehouses, admin.id]);
      await this.audit.record({ tenantId: admin.tenantId, actor: actorOf(admin), action, target: id, details: { name, warehouses } }, m);
    });
    // The token is shown once; only its hash is kept.
    return { id, name, warehouses, token };
  }

  private async revoke(admin: Principal, table: string, action: string, id: string): Promise<{ id: string; revoked: true }> {
    await this.db.transaction(async (m) => {
      const [row] = await changedRows(m, `UPDATE ${table} SET revoked_at = now() WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL RETURNING token_hash`, [id, admin.tenantId]);
      const hash = row?.token_hash;
      if (!hash) throw new DomainError('CREDENTIAL.UNKNOWN', `no active credential ${id} in this tenant`, 'not_found', [{ field: 'id', reason: 'no such active credential' }]);
      await this.audit.record({ tenantId: admin.tenantId, actor: actorOf(admin), action, target: id }, m);
      this.tokens.forget(hash);
    });
    return { id, revoked: true };
  }
}
