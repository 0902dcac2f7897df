import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { EventsConfig } from '../config/events-config.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { type SettingsOf, tableLifetimes } from './table-lifetimes.js';

/** Rows per DELETE: small enough that each batch is a short transaction holding few row locks. */
export const PRUNE_BATCH_ROWS = 2000;

export interface PruneOptions {
  /** Who prunes: the maintenance job (`system:maintenance`) or `cli:<os user>`; audited in OPS_TENANT's log. */
  actor: EventActor;
  /** Only count what would be deleted. */
  dryRun?: boolean;
  batchRows?: number;
  /** After each batch (committed): the table and how many of its rows were deleted (dry run: expired) so far. */
  onProgress?: (table: string, rows: number) => void | Promise<void>;
}

export interface TablePruned {
  table: string;
  lifetime: string;
  /** Deleted, or in a dry run: expired now. */
  rows: number;
  batches: number;
  /** Why pruning this table stopped (it is tried again next run); the other tables are pruned regardless. */
  error?: string;
}

export interface PruneReport {
  dryRun: boolean;
  tables: TablePruned[];
  rows: number;
  /** Tables whose pruning failed (see their `error`). */
  failed: string[];
  ms: number;
}

/**
 * Deletes the rows of every declared table that outlived their lifetime (see table-lifetimes.ts). Each batch is
 * its own short transaction that deletes at most `batchRows` rows found through the expiry index, skips rows
 * someone holds (`SKIP LOCKED`: pruning never waits for a scanner's transaction, nor makes one wait long), and gives
 * up quickly behind a table lock (a migration) instead of queueing traffic behind itself. Runs concurrently with
 * itself safely; what a run leaves (locked rows) the next one takes.
 */
@Injectable()
export class TablePruner {
  private readonly logger = new Logger(TablePruner.name);

  constructor(
    private readonly db: DataSource,
    private readonly moduleRef: ModuleRef,
    private readonly audit: AuditService,
    private readonly config: EventsConfig,
  ) {}

  async prune(options: PruneOptions): Promise<PruneReport> {
    const started = Date.now();
    const dryRun = Boolean(options.dryRun);
    const batchRows = options.batchRows ?? PRUNE_BATCH_ROWS;
    const settings: SettingsOf = (section) => this.moduleRef.get(section, { strict: false });
    const tables: TablePruned[] = [];
    for (const [table, lifetime] of tableLifetimes()) {
      const done: TablePruned = { table, lifetime: lifetime.lifetime, rows: 0, batches: 0 };
      tables.push(done);
      try {
        const { where, params } = lifetime.expired(settings);
        if (dryRun) {
          const [{ n }]: { n: number }[] = await this.db.query(
            `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`,
            params,
          );
          done.rows = n;
          await options.onProgress?.(table, n);
          continue;
        }
        for (;;) {
          const deleted = await this.deleteBatch(table, where, params, batchRows);
          done.batches++;
          done.rows += deleted;
          await options.onProgress?.(table, done.rows);
          if (deleted < batchRows) break;
        }
      } catch (error) {
        // One table's trouble (locked whole by a migration, say) stops only its own pruning.
        done.error = (error as Error).message;
        this.logger.error({ table, deleted: done.rows, error: done.error }, 'pruning a table failed');
      }
      if (done.rows && !dryRun) this.logger.log({ table, deleted: done.rows, batches: done.batches }, 'table pruned');
    }
    const report: PruneReport = {
      dryRun,
      tables,
      rows: tables.reduce((sum, t) => sum + t.rows, 0),
      failed: tables.filter((t) => t.error).map((t) => t.table),
      ms: Date.now() - started,
    };
    const counts = Object.fromEntries(tables.filter((t) => t.rows).map((t) => [t.table, t.rows]));
    this.logger.log(
      { dryRun, rows: report.rows, tables: counts, ms: report.ms, actor: options.actor.id },
      'tables pruned',
    );
    if (!dryRun && report.rows && this.config.OPS_TENANT) {
      await this.audit.record({
        tenantId: this.config.OPS_TENANT,
        actor: options.actor,
        action: 'tables.pruned',
        details: { rows: counts },
      });
    }
    return report;
  }

  private deleteBatch(table: string, where: string, params: unknown[], limit: number): Promise<number> {
    return this.db.transaction(async (m) => {
      await m.query(`SET LOCAL lock_timeout = '2s'`);
      await m.query(`SET LOCAL statement_timeout = '60s'`);
      // ctid is a row's place in its table: one DELETE by the places the index lookup found, locked as found.
      const [{ n }]: { n: number }[] = await m.query(
        `WITH gone AS (
           DELETE FROM ${table}
           WHERE ctid IN (
             SELECT ctid
             FROM ${table}
             WHERE ${where}
             LIMIT $${params.length + 1}
             FOR UPDATE SKIP LOCKED
           )
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM gone`,
        [...params, limit],
      );
      return n;
    });
  }
}
