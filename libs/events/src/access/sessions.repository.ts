import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { changedRows } from '../database/changed-rows.js';
import { declareLifetime } from '../retention/table-lifetimes.js';

// Used up and revoked tokens stay until they would have expired: presenting one is refused the same either way.
declareLifetime('refresh_tokens', {
  lifetime: 'until it expires (REFRESH_TOKEN_TTL_DAYS after sign-in)',
  expired: () => ({ where: `expires_at < now()`, params: [] }),
});

/** Owns `refresh_tokens`: a person's sessions, each a refresh token of which only the hash is kept. */
@Injectable()
export class SessionsRepository {
  constructor(private readonly db: DataSource) {}

  async open(m: EntityManager, userId: string, tokenHash: string, ttlDays: number): Promise<void> {
    await m.query(
      `INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(days => $4))`,
      [uuidv7(), userId, tokenHash, ttlDays],
    );
  }

  /** Uses up a live refresh token (rotation); returns whose it was, or null when it is unknown, expired or used. */
  async useUp(m: EntityManager, tokenHash: string): Promise<string | null> {
    const [row] = await changedRows<{ user_id: string }>(
      m,
      `UPDATE refresh_tokens
       SET revoked_at = now()
       WHERE token_hash = $1
         AND revoked_at IS NULL
         AND expires_at > now()
       RETURNING user_id`,
      [tokenHash],
    );
    return row?.user_id ?? null;
  }

  async revoke(tokenHash: string): Promise<void> {
    await this.db.query(
      `UPDATE refresh_tokens
       SET revoked_at = now()
       WHERE token_hash = $1
         AND revoked_at IS NULL`,
      [tokenHash],
    );
  }

  async revokeAllOf(m: EntityManager, userId: string): Promise<void> {
    await m.query(
      `UPDATE refresh_tokens
       SET revoked_at = now()
       WHERE user_id = $1
         AND revoked_at IS NULL`,
      [userId],
    );
  }
}
