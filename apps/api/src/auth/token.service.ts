import { Injectable, OnModuleInit } from '@nestjs/common';
import { ApiConfig } from '../api-config.js';
import { type AccessChange, AccessChanges, CredentialsRepository, UsersRepository } from '@wms/events';
import { jwtVerify, SignJWT } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import { USER_ROLES, type Principal, type Role } from './principal.js';

export const DEVICE_TOKEN_PREFIX = 'wmsd';
export const API_KEY_PREFIX = 'wmsk';

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** A person's access as it is now: the token only says who they are; what they may do is read here. */
interface UserAccess {
  tenantId: string;
  role: Role;
  warehouses: string[];
  /** Refused: disabled, or their tenant is suspended. */
  refused: boolean;
  /** Access tokens issued before this instant (ms) are refused. */
  notBefore: number | null;
}

/** What an access token says: who (sub), of which tenant (tid), when issued and until when. */
interface AccessClaims {
  sub?: string;
  tid?: unknown;
  iat?: number;
  exp?: number;
}

interface Cached<T> {
  value: T;
  until: number;
}

const MAX_CACHED = 10_000;

/**
 * Issues and checks credentials: JWT access tokens for people, opaque tokens for devices and integrations.
 * Every request is answered with the principal's access as it is now — role, warehouses, disabled,
 * revoked, tenant suspended — from a cache that every api instance drops the moment a change commits
 * (AccessChanges), and that is bypassed whenever this instance may have missed a change.
 */
@Injectable()
export class TokenService implements OnModuleInit {
  private readonly secret: Uint8Array;
  private readonly users = new Map<string, Cached<UserAccess | null>>();
  private readonly credentials = new Map<string, Cached<Principal | null>>();
  /** Access tokens whose signature was checked, until they expire. */
  private readonly verifiedTokens = new Map<string, Cached<AccessClaims>>();
  private readonly listeners: ((change: AccessChange) => void)[] = [];
  /** Bumped by every change heard: a lookup that raced with a change is answered but not cached. */
  private generation = 0;

  constructor(
    private readonly config: ApiConfig,
    private readonly changes: AccessChanges,
    private readonly accounts: UsersRepository,
    private readonly opaque: CredentialsRepository,
  ) {
    if (!config.AUTH_SECRET) throw new Error('AUTH_SECRET is missing: the api needs it to sign access tokens');
    this.secret = new TextEncoder().encode(config.AUTH_SECRET);
  }

  onModuleInit(): Promise<void> {
    return this.changes.subscribe(
      (change) => {
        this.generation++;
        this.forgetChanged(change);
        for (const listener of this.listeners) listener(change);
      },
      () => {
        this.generation++;
        this.users.clear();
        this.credentials.clear();
      },
    );
  }

  /** Called after this instance's caches dropped a change, e.g. to check open sockets again. */
  onChange(listener: (change: AccessChange) => void): void {
    this.listeners.push(listener);
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

  /** The principal behind a bearer token, or null when it is malformed, expired, tampered with, revoked or its access is gone. */
  async resolve(bearer: string | undefined): Promise<Principal | null> {
    if (!bearer) return null;
    if (bearer.startsWith(`${DEVICE_TOKEN_PREFIX}_`) || bearer.startsWith(`${API_KEY_PREFIX}_`))
      return this.resolveOpaque(bearer);
    const claims = await this.verified(bearer);
    if (!claims) return null;
    if (!claims.sub || typeof claims.tid !== 'string') return null;
    const access = await this.userAccess(claims.sub);
    if (!access || access.refused || access.tenantId !== claims.tid) return null;
    if (access.notBefore !== null && (claims.iat ?? 0) * 1000 < access.notBefore) return null;
    return {
      tenantId: access.tenantId,
      kind: 'user',
      id: claims.sub,
      role: access.role,
      warehouses: access.role === 'admin' ? 'all' : access.warehouses,
    };
  }

  /**
   * The claims of a signed, unexpired access token, or null. A token's claims never change, so a token verified once
   * is not verified again until it expires (the signature check is a WebCrypto HMAC handed to the thread pool, on
   * every request of a signed-in person); what the claims grant is read from the access cache on every request.
   */
  private async verified(bearer: string): Promise<AccessClaims | null> {
    const now = Date.now();
    const known = this.verifiedTokens.get(bearer);
    if (known && known.until > now) return known.value;
    let claims: AccessClaims;
    try {
      claims = (await jwtVerify(bearer, this.secret, { algorithms: ['HS256'] })).payload;
    } catch {
      return null;
    }
    if (this.verifiedTokens.size >= MAX_CACHED) this.verifiedTokens.clear();
    // jwtVerify refuses a token without a future `exp` only if it has one; ours always do (signAccess).
    if (typeof claims.exp === 'number') this.verifiedTokens.set(bearer, { value: claims, until: claims.exp * 1000 });
    return claims;
  }

  private async userAccess(userId: string): Promise<UserAccess | null> {
    return this.cached(this.users, userId, async () => {
      const row = await this.accounts.accessOf(userId);
      if (!row || !(USER_ROLES as readonly string[]).includes(row.role)) return null;
      return {
        tenantId: row.tenantId,
        role: row.role as Role,
        warehouses: row.warehouses,
        refused: row.refused,
        notBefore: row.tokensNotBefore?.getTime() ?? null,
      };
    });
  }

  private async resolveOpaque(token: string): Promise<Principal | null> {
    const device = token.startsWith(`${DEVICE_TOKEN_PREFIX}_`);
    return this.cached(this.credentials, sha256(token), async (hash) => {
      const row = await this.opaque.accessByHash(device ? 'device' : 'api_key', hash);
      if (!row) return null;
      return device
        ? { tenantId: row.tenantId, kind: 'device', id: row.id, role: 'operator', warehouses: row.warehouses }
        : {
            tenantId: row.tenantId,
            kind: 'integration',
            id: row.id,
            integrationId: row.integrationId ?? undefined,
            role: 'integration',
            warehouses: row.warehouses.length ? row.warehouses : 'all',
          };
    });
  }

  /** Trusts the cache only while this instance is hearing every change. */
  private async cached<T>(cache: Map<string, Cached<T>>, key: string, load: (key: string) => Promise<T>): Promise<T> {
    const live = this.changes.live && this.config.AUTH_CACHE_MS > 0;
    const hit = live ? cache.get(key) : undefined;
    if (hit && hit.until > Date.now()) return hit.value;
    const generation = this.generation;
    const value = await load(key);
    if (live && this.changes.live && generation === this.generation) {
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(key, { value, until: Date.now() + this.config.AUTH_CACHE_MS });
    }
    return value;
  }

  private forgetChanged(change: AccessChange): void {
    if (change.kind === 'user') this.users.delete(change.id);
    for (const [key, entry] of this.credentials) {
      const p = entry.value;
      if (
        !p ||
        (change.kind === 'credential' && p.id === change.id) ||
        (change.kind === 'tenant' && p.tenantId === change.id)
      )
        this.credentials.delete(key);
    }
    if (change.kind === 'tenant')
      for (const [key, entry] of this.users)
        if (!entry.value || entry.value.tenantId === change.id) this.users.delete(key);
  }
}
