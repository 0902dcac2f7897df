import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { EventsConfig } from '../config/events-config.js';
import { declareLifetime } from '../retention/table-lifetimes.js';

/** A caller's Idempotency-Key: whose it is, the key, and the hash of the request it came with. */
export interface IdempotencyClaim {
  tenantId: string;
  /** `user:<id>`, `device:<id>`, `integration:<id>`. */
  scope: string;
  key: string;
  requestHash: string;
}

/** What the first request with a key left behind. */
export interface FirstRequest {
  requestHash: string;
  /** For a single published event: that event. */
  eventId: string | null;
  /** For a unit of work: its stored `{ result }`. */
  response: unknown;
}

declareLifetime('idempotency_keys', {
  lifetime: 'IDEMPOTENCY_TTL_HOURS after the first request (never shorter than OFFLINE_ACCEPT_DAYS)',
  expired: (settings) => ({
    where: `created_at < now() - make_interval(hours => $1)`,
    params: [settings(EventsConfig).IDEMPOTENCY_TTL_HOURS],
  }),
});

/**
 * Owns `idempotency_keys`, but for the group-commit statement of EventRecorder, which claims keys of single
 * published events in the same statement that records them (one round trip for many requests).
 */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Claims the key for a unit of work in its transaction; false when an earlier request holds it (a concurrent
   * resend waits here on the key's unique index until the first request commits). A key recorded before keys
   * were scoped to their caller (scope '') still counts as taken.
   */
  async claim(m: EntityManager, c: IdempotencyClaim): Promise<boolean> {
    const claimed: unknown[] = await m.query(
      `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash)
       SELECT $1, $2, $3, $4
       WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE tenant_id = $1 AND scope = '' AND key = $3)
       ON CONFLICT DO NOTHING
       RETURNING key`,
      [c.tenantId, c.scope, c.key, c.requestHash],
    );
    return claimed.length > 0;
  }

  /** Keeps the unit of work's result, in its transaction, for the resends. */
  async saveResult(m: EntityManager, c: Omit<IdempotencyClaim, 'requestHash'>, result: unknown): Promise<void> {
    await m.query(
      `UPDATE idempotency_keys
       SET response = $4
       WHERE tenant_id = $1 AND scope = $2 AND key = $3`,
      [c.tenantId, c.scope, c.key, JSON.stringify({ result })],
    );
  }

  /** The first requests with these keys of one caller (or keys from before caller scoping), by key. */
  async firstRequests(tenantId: string, scope: string, keys: string[]): Promise<Map<string, FirstRequest>> {
    const rows: { key: string; request_hash: string; event_id: string | null; response: unknown }[] =
      await this.db.query(
        `SELECT DISTINCT ON (key) key, request_hash, event_id, response
         FROM idempotency_keys
         WHERE tenant_id = $1 AND scope IN ($2, '') AND key = ANY($3::text[])
         ORDER BY key, scope DESC`,
        [tenantId, scope, keys],
      );
    return new Map(
      rows.map((r) => [r.key, { requestHash: r.request_hash, eventId: r.event_id, response: r.response }]),
    );
  }

  /** The first request with this caller's key (or a key from before caller scoping), or null. */
  async firstRequest(c: Omit<IdempotencyClaim, 'requestHash'>): Promise<FirstRequest | null> {
    const [row]: { request_hash: string; event_id: string | null; response: unknown }[] = await this.db.query(
      `SELECT request_hash, event_id, response
       FROM idempotency_keys
       WHERE tenant_id = $1 AND scope IN ($2, '') AND key = $3
       ORDER BY scope DESC
       LIMIT 1`,
      [c.tenantId, c.scope, c.key],
    );
    return row ? { requestHash: row.request_hash, eventId: row.event_id, response: row.response } : null;
  }
}
