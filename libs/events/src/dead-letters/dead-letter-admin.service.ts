import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { changedRows } from '../database/changed-rows.js';
import { SqlWhere } from '../database/sql-where.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { DomainError } from '../errors/domain-error.js';
import type { DeadLetterStatus } from './dead-letter.entity.js';
import { retryJobId } from './dead-letter.service.js';

export interface DeadLetterFilter {
  status?: DeadLetterStatus;
  queue?: string;
  jobName?: string;
  eventName?: string;
  warehouseId?: string;
  fingerprint?: string;
  from?: string;
  to?: string;
  /** A business key: event id, SKU, order number, … (searched in the job's data). */
  search?: string;
}

/** Runs before a dead letter's job is queued again, e.g. to put its delivery back to "queued". */
export type RetryPreparer = (m: EntityManager, data: unknown, deadLetter: { firstFailedAt: Date }) => Promise<void>;

interface RetryJob {
  queue: string;
  name: string;
  data: unknown;
  jobId: string;
  delay: number;
}

const FILTER_KEYS: (keyof DeadLetterFilter)[] = [
  'status',
  'queue',
  'jobName',
  'eventName',
  'warehouseId',
  'fingerprint',
  'from',
  'to',
  'search',
];

const where = (tenantId: string, f: DeadLetterFilter) =>
  new SqlWhere()
    .add('tenant_id = ?', tenantId)
    .add('status = ?', f.status)
    .add('queue = ?', f.queue)
    .add('job_name = ?', f.jobName)
    .add('event_name = ?', f.eventName)
    .add('warehouse_id = ?', f.warehouseId)
    .add('fingerprint = ?', f.fingerprint)
    .add('last_failed_at >= ?', f.from)
    .add('last_failed_at < ?', f.to)
    .add(`(event_id::text = ? OR payload::text ILIKE '%' || ? || '%')`, f.search);

/** A `dead_letters` row as Postgres returns it. */
interface DeadLetterRow {
  id: string;
  tenant_id: string | null;
  status: DeadLetterStatus;
  queue: string;
  job_name: string;
  job_id: string;
  event_id: string | null;
  event_name: string | null;
  warehouse_id: string | null;
  payload: unknown;
  error_message: string;
  error_stack: string | null;
  fingerprint: string;
  attempts: number;
  retries: number;
  history: { at: string; error: string }[];
  first_failed_at: Date;
  last_failed_at: Date;
  status_reason: string | null;
  status_by: string | null;
}

const toView = (r: DeadLetterRow) => ({
  id: r.id,
  status: r.status,
  queue: r.queue,
  jobName: r.job_name,
  jobId: r.job_id,
  eventId: r.event_id,
  eventName: r.event_name,
  warehouseId: r.warehouse_id,
  error: r.error_message,
  fingerprint: r.fingerprint,
  attempts: r.attempts,
  retries: r.retries,
  firstFailedAt: r.first_failed_at.toISOString(),
  lastFailedAt: r.last_failed_at.toISOString(),
  statusReason: r.status_reason,
  statusBy: r.status_by,
});

export type DeadLetterView = ReturnType<typeof toView>;
export interface DeadLetterGroup {
  fingerprint: string;
  queue: string;
  jobName: string;
  count: number;
  lastFailedAt: string;
  sampleError: string;
}

/** What admins do with dead letters: look, group, retry (one or by filter), discard — each action audited. */
@Injectable()
export class DeadLetterAdminService {
  private readonly preparers = new Map<string, RetryPreparer>();

  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Lets the owner of a queue reset what its job needs before it runs again. */
  onRetry(queue: string, preparer: RetryPreparer): void {
    this.preparers.set(queue, preparer);
  }

  async list(tenantId: string, filter: DeadLetterFilter, limit = 50): Promise<DeadLetterView[]> {
    const w = where(tenantId, filter);
    const rows = await this.db.query(
      `SELECT * FROM dead_letters WHERE ${w.sql} ORDER BY last_failed_at DESC, id LIMIT ${Number(limit)}`,
      w.params,
    );
    return rows.map(toView);
  }

  async get(tenantId: string, id: string) {
    const [row] = await this.db.query(`SELECT * FROM dead_letters WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
    if (!row)
      throw new DomainError('DEAD_LETTER.UNKNOWN', `no dead letter ${id}`, 'not_found', [
        { field: 'id', reason: 'no such dead letter' },
      ]);
    return {
      ...toView(row),
      payload: row.payload,
      stack: row.error_stack as string | null,
      history: row.history as { at: string; error: string }[],
    };
  }

  /** Open dead letters by error fingerprint, largest group first. */
  async groups(tenantId: string, filter: DeadLetterFilter): Promise<DeadLetterGroup[]> {
    const w = where(tenantId, { ...filter, status: filter.status ?? 'open' });
    const rows = await this.db.query(
      `SELECT fingerprint, queue, job_name, count(*)::int AS count, max(last_failed_at) AS last_failed_at,
              (array_agg(error_message ORDER BY last_failed_at DESC))[1] AS sample_error
       FROM dead_letters
       WHERE ${w.sql}
       GROUP BY fingerprint, queue, job_name
       ORDER BY count DESC, last_failed_at DESC
       LIMIT 200`,
      w.params,
    );
    return rows.map(
      (r: {
        fingerprint: string;
        queue: string;
        job_name: string;
        count: number;
        last_failed_at: Date;
        sample_error: string;
      }) => ({
        fingerprint: r.fingerprint,
        queue: r.queue,
        jobName: r.job_name,
        count: r.count,
        lastFailedAt: r.last_failed_at.toISOString(),
        sampleError: r.sample_error,
      }),
    );
  }

  async retry(actor: EventActor, tenantId: string, id: string) {
    const retried = await this.db.transaction(async (m) => {
      const [row] = await m.query(`SELECT * FROM dead_letters WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [
        id,
        tenantId,
      ]);
      if (!row)
        throw new DomainError('DEAD_LETTER.UNKNOWN', `no dead letter ${id}`, 'not_found', [
          { field: 'id', reason: 'no such dead letter' },
        ]);
      if (row.status !== 'open')
        throw new DomainError(
          'DEAD_LETTER.NOT_OPEN',
          `dead letter ${id} is ${row.status}; only open ones can be retried`,
          'conflict',
          [{ field: 'id', reason: `is ${row.status}` }],
        );
      const job = await this.prepare(m, row, actor, 0);
      await this.audit.record(
        {
          tenantId,
          actor,
          action: 'dead_letter.retried',
          target: id,
          details: { queue: row.queue, jobName: row.job_name, jobId: job.jobId },
        },
        m,
      );
      return job;
    });
    await this.enqueue([retried]);
    return { id, status: 'retried' as const, jobId: retried.jobId };
  }

  /**
   * Retries every open dead letter the filter matches, spread out at `perSecond` so a fixed outage does
   * not turn into a stampede. An empty filter is refused unless `all` is set; `dryRun` only counts.
   */
  async retryMany(
    actor: EventActor,
    tenantId: string,
    filter: DeadLetterFilter,
    options: { dryRun: boolean; all: boolean; perSecond?: number },
  ) {
    if (!options.all && !FILTER_KEYS.some((k) => filter[k] !== undefined && k !== 'status')) {
      throw new DomainError(
        'DEAD_LETTER.FILTER_REQUIRED',
        'a bulk retry needs at least one filter; send all: true to retry every open dead letter',
        'invalid',
        [{ field: 'filter', reason: 'empty filter without all: true' }],
      );
    }
    const w = where(tenantId, { ...filter, status: 'open' });
    if (options.dryRun) {
      const [{ n }] = await this.db.query(`SELECT count(*)::int AS n FROM dead_letters WHERE ${w.sql}`, w.params);
      return { dryRun: true, matched: n, retried: 0 };
    }
    const perSecond = options.perSecond ?? 20;
    const jobs = await this.db.transaction(async (m) => {
      const rows = await m.query(
        `SELECT * FROM dead_letters WHERE ${w.sql} ORDER BY last_failed_at LIMIT 10000 FOR UPDATE SKIP LOCKED`,
        w.params,
      );
      const prepared: RetryJob[] = [];
      for (const [i, row] of rows.entries())
        prepared.push(await this.prepare(m, row, actor, Math.floor((i * 1000) / perSecond)));
      await this.audit.record(
        {
          tenantId,
          actor,
          action: 'dead_letter.bulk_retried',
          details: { filter, all: options.all, count: rows.length, perSecond },
        },
        m,
      );
      return prepared;
    });
    await this.enqueue(jobs);
    return { dryRun: false, matched: jobs.length, retried: jobs.length };
  }

  async discard(actor: EventActor, tenantId: string, id: string, reason: string) {
    await this.db.transaction(async (m) => {
      const [row] = await changedRows(
        m,
        `UPDATE dead_letters
         SET status = 'discarded', status_reason = $3, status_by = $4, status_at = now()
         WHERE id = $1 AND tenant_id = $2 AND status = 'open'
         RETURNING id`,
        [id, tenantId, reason, `${actor.type}:${actor.id}`],
      );
      if (!row) {
        const [exists] = await m.query(`SELECT status FROM dead_letters WHERE id = $1 AND tenant_id = $2`, [
          id,
          tenantId,
        ]);
        if (!exists)
          throw new DomainError('DEAD_LETTER.UNKNOWN', `no dead letter ${id}`, 'not_found', [
            { field: 'id', reason: 'no such dead letter' },
          ]);
        throw new DomainError(
          'DEAD_LETTER.NOT_OPEN',
          `dead letter ${id} is ${exists.status}; only open ones can be discarded`,
          'conflict',
          [{ field: 'id', reason: `is ${exists.status}` }],
        );
      }
      await this.audit.record({ tenantId, actor, action: 'dead_letter.discarded', target: id, details: { reason } }, m);
    });
    return { id, status: 'discarded' as const };
  }

  /** Marks a dead letter retried and readies what its job needs; the job is queued after commit. */
  private async prepare(m: EntityManager, row: DeadLetterRow, actor: EventActor, delay: number): Promise<RetryJob> {
    await this.preparers.get(row.queue)?.(m, row.payload, { firstFailedAt: row.first_failed_at });
    await m.query(
      `UPDATE dead_letters
       SET status = 'retried', retries = retries + 1, status_by = $2, status_at = now(), status_reason = NULL
       WHERE id = $1`,
      [row.id, `${actor.type}:${actor.id}`],
    );
    // A new job id: the old one may still sit in BullMQ's failed set, where adding it again would do nothing.
    return {
      queue: row.queue,
      name: row.job_name,
      data: row.payload,
      jobId: retryJobId(row.id, row.retries + 1),
      delay,
    };
  }

  private async enqueue(jobs: RetryJob[]): Promise<void> {
    for (const [i, job] of jobs.entries()) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(job.queue), { strict: false });
      try {
        await queue.add(job.name, job.data, { jobId: job.jobId, delay: job.delay });
      } catch (error) {
        // Not queued: these stay retryable instead of stuck as "retried".
        const ids = jobs.slice(i).map((j) => j.jobId.split('@')[1]);
        await this.db.query(
          `UPDATE dead_letters SET status = 'open', retries = retries - 1 WHERE id = ANY($1::uuid[]) AND status = 'retried'`,
          [ids],
        );
        throw error;
      }
    }
  }
}
