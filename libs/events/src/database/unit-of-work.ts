import type { DataSource, EntityManager } from 'typeorm';
import { DomainError } from '../errors/domain-error.js';
import { retryOnConflict } from './retry-on-conflict.js';

// What pg and Postgres say when the connection under a query is gone: the socket closed or reset, the
// server shut the backend down (57P01-57P03), or any SQLSTATE of class 08 (connection exception).
const LOST_SOCKET = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);
const LOST_SERVER = new Set(['57P01', '57P02', '57P03']);
const LOST_MESSAGES = [
  'Connection terminated',
  'not queryable',
  'Client was closed',
  'timeout exceeded when trying to connect',
];

/** True when `error` says the database connection was lost (or could not be had), not that the SQL failed. */
export function isConnectionLost(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown } | undefined; e;) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (LOST_SOCKET.has(code) || LOST_SERVER.has(code) || code.startsWith('08')) return true;
    if (typeof e.message === 'string' && LOST_MESSAGES.some((m) => (e!.message as string).includes(m))) return true;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return false;
}

/** The database could not be reached, or the connection dropped before anything was committed. */
export const databaseUnavailable = () =>
  new DomainError(
    'DATABASE.UNAVAILABLE',
    'the database could not be reached; nothing was changed — retry in a moment',
    'unavailable',
  );

/** The connection dropped after COMMIT was sent: the change may or may not have been saved. */
export const commitOutcomeUnknown = () =>
  new DomainError(
    'DATABASE.OUTCOME_UNKNOWN',
    'the database connection dropped while saving; the change may have been saved — ' +
      'resend the same request with the same Idempotency-Key to learn its outcome safely',
    'unavailable',
  );

class LostBeforeCommit extends Error {}

/**
 * Runs a read that changes nothing (who is calling, what a replay answers): a lost connection runs it
 * again once, and then is `DATABASE.UNAVAILABLE` — never the "outcome unknown" of a write.
 */
export async function readAgainIfLost<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (!isConnectionLost(error)) throw error;
      if (attempt === 2) throw databaseUnavailable();
    }
  }
}

/**
 * Runs `work` in one transaction — the unit of work of a request. Postgres aborting it for a concurrent
 * one (deadlock, serialisation) runs it again; so does a connection that dropped before COMMIT was sent,
 * once, on a fresh connection (nothing of it was committed). A connection that dropped after COMMIT was
 * sent leaves the outcome unknown: that is `DATABASE.OUTCOME_UNKNOWN` (503), never a retry that could
 * apply the change twice. `work` may run more than once, so it must keep its effects in the transaction.
 */
export async function unitOfWork<T>(db: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  try {
    return await retryOnConflict(() => transactionOnce(db, work));
  } catch (error) {
    if (!(error instanceof LostBeforeCommit)) throw error;
  }
  try {
    return await retryOnConflict(() => transactionOnce(db, work));
  } catch (error) {
    throw error instanceof LostBeforeCommit ? databaseUnavailable() : error;
  }
}

async function transactionOnce<T>(db: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  const runner = db.createQueryRunner();
  let commitSent = false;
  try {
    await runner.startTransaction();
    const result = await work(runner.manager);
    commitSent = true;
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    if (!isConnectionLost(error)) throw error;
    throw commitSent ? commitOutcomeUnknown() : new LostBeforeCommit('connection lost before COMMIT', { cause: error });
  } finally {
    await runner.release().catch(() => undefined);
  }
}
