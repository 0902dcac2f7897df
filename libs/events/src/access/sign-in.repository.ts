import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { changedRows } from '../database/changed-rows.js';
import { declareLifetime } from '../retention/table-lifetimes.js';

/**
 * Failures are forgotten LOGIN_LOCKOUT_MINUTES after the last one (an api setting of at most a day), and a lock
 * ends by itself: a row untouched for a day whose lock has ended counts for nothing.
 */
declareLifetime('login_failures', {
  lifetime: 'a day after the last failed sign-in, once its lock has ended',
  expired: () => ({
    where: `updated_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())`,
    params: [],
  }),
});

declareLifetime('set_password_codes', {
  lifetime: 'until it expires (72 hours after it was issued), used or not',
  expired: () => ({ where: `expires_at < now()`, params: [] }),
});

/** The failed sign-ins counted against one email (known or not) inside the lockout window. */
export interface LoginFailures {
  failures: number;
  lockedUntil: Date | null;
}

/**
 * Owns `login_failures` (failed sign-ins per email, whether or not it has an account) and `set_password_codes`
 * (one-time codes with which a person sets their password): what a sign-in checks before a session exists.
 * Emails are given lower-cased.
 */
@Injectable()
export class SignInRepository {
  /**
   * Takes the email's row for update (creating it), so concurrent guesses at one email are counted one by one.
   * Failures older than `windowMinutes` are forgotten.
   */
  async failuresFor(m: EntityManager, email: string, windowMinutes: number): Promise<LoginFailures> {
    const [row]: { failures: number; locked_until: Date | null }[] = await m.query(
      `INSERT INTO login_failures (email)
       VALUES ($1)
       ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
       RETURNING CASE WHEN updated_at < now() - make_interval(mins => $2) THEN 0 ELSE failures END AS failures,
                 locked_until`,
      [email, windowMinutes],
    );
    return { failures: row.failures, lockedUntil: row.locked_until };
  }

  async countFailure(m: EntityManager, email: string, failures: number): Promise<void> {
    await m.query(
      `UPDATE login_failures
       SET failures = $2, updated_at = now()
       WHERE email = $1`,
      [email, failures],
    );
  }

  /** Locks the email for `minutes` and starts counting again. */
  async lock(m: EntityManager, email: string, minutes: number): Promise<void> {
    await m.query(
      `UPDATE login_failures
       SET failures = 0, locked_until = now() + make_interval(mins => $2), updated_at = now()
       WHERE email = $1`,
      [email, minutes],
    );
  }

  /** Forgets the email's failures; true when it was locked until now. */
  async clearFailures(m: EntityManager, email: string): Promise<boolean> {
    const removed = await changedRows<{ locked_until: Date | null }>(
      m,
      `DELETE FROM login_failures
       WHERE email = lower($1)
       RETURNING locked_until`,
      [email],
    );
    return removed.some((r) => r.locked_until && r.locked_until > new Date());
  }

  /** Keeps a new code's hash for `userId`; returns when it expires. */
  async addSetPasswordCode(m: EntityManager, codeHash: string, userId: string, ttlHours: number): Promise<Date> {
    const [row]: { expires_at: Date }[] = await m.query(
      `INSERT INTO set_password_codes (code_hash, user_id, expires_at)
       VALUES ($1, $2, now() + make_interval(hours => $3))
       RETURNING expires_at`,
      [codeHash, userId, ttlHours],
    );
    return row.expires_at;
  }

  /** Uses up an unused, unexpired code; returns whose it is, or null. */
  async useSetPasswordCode(m: EntityManager, codeHash: string): Promise<string | null> {
    const [used] = await changedRows<{ user_id: string }>(
      m,
      `UPDATE set_password_codes
       SET used_at = now()
       WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()
       RETURNING user_id`,
      [codeHash],
    );
    return used?.user_id ?? null;
  }

  /** Every unused code of `userId` stops working. */
  async voidSetPasswordCodes(m: EntityManager, userId: string): Promise<void> {
    await m.query(
      `UPDATE set_password_codes
       SET used_at = now()
       WHERE user_id = $1 AND used_at IS NULL`,
      [userId],
    );
  }
}
