import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { declareLifetime } from '../retention/table-lifetimes.js';

// A window counts for nothing once it has reset and its block (if any) has ended; an hour's margin for the clocks.
declareLifetime('rate_limit_windows', {
  lifetime: 'an hour after its window reset and its block ended',
  expired: () => ({ where: `GREATEST(resets_at, blocked_until) < now() - interval '1 hour'`, params: [] }),
});

/** One key's fixed window after a hit: hits so far, and the milliseconds until it resets and until its block ends. */
export interface RateLimitHit {
  hits: number;
  resetsInMs: number;
  /** 0 when not blocked. */
  blockedForMs: number;
}

// One statement is one transaction, so now() is the same instant throughout it.
const BLOCKED = `coalesce(w.blocked_until > now(), false)`;
/** The stored window is over: it reset and is not blocked, so this hit starts a new one. */
const FRESH = `(w.resets_at <= now() AND NOT ${BLOCKED})`;

/**
 * Owns `rate_limit_windows`: the api's rate-limit counters in the Postgres-only profile (the Redis profile keeps them
 * in Redis), shared by every api instance. Each hit is one statement, so concurrent hits on two instances count one
 * by one.
 */
@Injectable()
export class RateLimitWindowsRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Counts a hit in `key`'s window of `windowMs` (a new window starts once the last one reset and its block ended).
   * The hit past `limit` blocks the key for `blockMs` (the rest of the window when 0).
   */
  async hit(key: string, windowMs: number, limit: number, blockMs: number): Promise<RateLimitHit> {
    const [row]: { hits: number; resets_in_ms: number; blocked_for_ms: number }[] = await this.db.query(
      `INSERT INTO rate_limit_windows AS w (key, hits, resets_at, blocked_until)
       VALUES (
         $1,
         1,
         now() + $2::float8 * interval '1 millisecond',
         CASE WHEN 1 > $3::int THEN now() + (CASE WHEN $4::float8 > 0 THEN $4 ELSE $2 END) * interval '1 millisecond' END
       )
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN ${FRESH} THEN 1 ELSE w.hits + 1 END,
         resets_at = CASE WHEN ${FRESH} THEN EXCLUDED.resets_at ELSE w.resets_at END,
         blocked_until = CASE
           WHEN ${FRESH} THEN EXCLUDED.blocked_until
           WHEN w.hits + 1 > $3 AND NOT ${BLOCKED}
             THEN now() + CASE WHEN $4 > 0 THEN $4 * interval '1 millisecond' ELSE w.resets_at - now() END
           ELSE w.blocked_until
         END
       RETURNING hits,
                 GREATEST(0, extract(epoch FROM resets_at - now()) * 1000)::float8 AS resets_in_ms,
                 GREATEST(0, coalesce(extract(epoch FROM blocked_until - now()) * 1000, 0))::float8 AS blocked_for_ms`,
      [key, windowMs, limit, blockMs],
    );
    return { hits: row.hits, resetsInMs: row.resets_in_ms, blockedForMs: row.blocked_for_ms };
  }
}
