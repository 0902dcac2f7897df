import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError } from '../errors/domain-error.js';

// Postgres advisory locks, keyed by a 64-bit hash of (purpose, tenant, listener): visible to every api, worker and
// CLI process, and let go by Postgres when the process holding one dies with its connection.
const KEY = `hashtextextended($1, 0)`;
const key = (purpose: 'admin' | 'projection', tenantId: string, listener: string) =>
  `listener-${purpose}/${tenantId}/${listener}`;

/** Who may touch a listener's receipts and projection while an admin replays or rebuilds it. */
@Injectable()
export class ListenerLocks {
  constructor(private readonly db: DataSource) {}

  /**
   * Runs `work` holding the admin lock of each listener for the tenant: one replay or rebuild of a listener at a
   * time, across processes. A listener already held is 409 `LISTENER.BUSY` naming it, and nothing runs.
   */
  async whileHeld<T>(tenantId: string, listeners: string[], work: () => Promise<T>): Promise<T> {
    const session = this.db.createQueryRunner();
    await session.connect();
    try {
      for (const listener of [...new Set(listeners)].sort()) {
        const [{ held }]: { held: boolean }[] = await session.query(`SELECT pg_try_advisory_lock(${KEY}) AS held`, [
          key('admin', tenantId, listener),
        ]);
        if (!held)
          throw new DomainError(
            'LISTENER.BUSY',
            `a replay or rebuild of ${listener} is running for this tenant; try again when it has finished`,
            'conflict',
            [{ field: 'listener', reason: `a replay or rebuild of ${listener} is running` }],
          );
      }
      return await work();
    } finally {
      // The connection goes back to the pool: it must not keep the locks.
      await session.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
      await session.release();
    }
  }

  /**
   * In a rebuildable listener's transaction, before its receipt: waits while a rebuild resets the projection for
   * the event's tenant. Shared, so the listener's jobs never wait for each other.
   */
  async shareProjection(m: EntityManager, tenantId: string, listener: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock_shared(${KEY})`, [key('projection', tenantId, listener)]);
  }

  /**
   * In a rebuild's reset transaction: waits for the listener's transactions of the tenant under way and holds new
   * ones until it commits, so none of them can write rows or a receipt the reset half sees.
   */
  async lockProjection(m: EntityManager, tenantId: string, listener: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(${KEY})`, [key('projection', tenantId, listener)]);
  }
}
