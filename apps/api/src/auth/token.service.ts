import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wms/events';
import { jwtVerify, SignJWT } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { Principal, Role } from './principal.js';

export const DEVICE_TOKEN_PREFIX = 'wmsd';
export const API_KEY_PREFIX = 'wmsk';

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Issues and checks credentials: JWT access tokens for people, opaque tokens for devices and integrations. */
@Injectable()
export class TokenService {
  private readonly secret: Uint8Array;
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly config: AppConfig,
    private readonly db: DataSource,
  ) {
    if (!config.AUTH_SECRET) throw new Error('AUTH_SECRET is missing: the api needs it to sign access tokens');
    this.secret = new TextEncoder().encode(config.AUTH_SECRET);
  }

  signAccess(user: { id: string; tenantId: string; role: Role; warehouses: string[] }): Promise<string> {
    return new SignJWT({ tid: user.tenantId, role: user.role, wh: user.role === 'admin' ? 'all' : user.warehouses })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(`${this.config.ACCESS_TOKEN_TTL_S}s`)
      .sign(this.secret);
  }

  /** A new opaque credential; only its hash is stored. */
  newOpaque(prefix: string): { token: string; hash: string } {
    const token = `${prefix}_${randomBytes(32).toString('base64url')}`;
    return { token, hash: sha256(token) };
  }

  /** The principal behind a bearer token, or null when it is malformed, expired, tampered with or revoked. */
  async resolve(bearer: string | undefined): Promise<Principal | null> {
    if (!bearer) return null;
    if (bearer.startsWith(`${DEVICE_TOKEN_PREFIX}_`) || bearer.startsWith(`${API_KEY_PREFIX}_`)) return this.resolveOpaque(bearer);
    try {
      const { payload } = await jwtVerify(bearer, this.secret, { algorithms: ['HS256'] });
      return { tenantId: payload.tid as string, kind: 'user', id: payload.sub!, role: payload.role as Role, warehouses: payload.wh as string[] | 'all' };
    } catch {
      return null;
    }
  }

  forget(hash: string): void {
    this.cache.delete(hash);
  }

  private async resolveOpaque(token: string): Promise<Principal | null> {
    const hash = sha256(token);
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.principal;
    const device = token.startsWith(`${DEVICE_TOKEN_PREFIX}_`);
    const [row] = await this.db.query(`SELECT id, tenant_id, warehouses FROM ${device ? 'device_tokens' : 'api_keys'} WHERE token_hash = $1 AND revoked_at IS NULL`, [hash]);
    const principal: Principal | null = row
      ? device
        ? { tenantId: row.tenant_id, kind: 'device', id: row.id, role: 'operator', warehouses: row.warehouses }
        : { tenantId: row.tenant_id, kind: 'integration', id: row.id, role: 'integration', warehouses: row.warehouses.length ? row.warehouses : 'all' }
      : null;
    if (this.config.AUTH_CACHE_MS > 0) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { principal, until: Date.now() + this.config.AUTH_CACHE_MS });
    }
    return principal;
  }
}
