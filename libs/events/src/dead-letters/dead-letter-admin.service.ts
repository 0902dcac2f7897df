import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { checkDateRange } from '../dates/strict-dates.js';
import { DomainError } from '../errors/domain-error.js';
import { type DeadLetterFilter, DeadLetterRepository, type DeadLetterRow } from './dead-letter.repository.js';
import { retryJobId } from './dead-letter.service.js';
import { unitOfWork } from '../database/unit-of-work.js';

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
  'key',
];

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
    private readonly deadLetters: DeadLetterRepository,
    private readonly audit: AuditService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Lets the owner of a queue reset what its job needs before it runs again. */
  onRetry(queue: string, preparer: RetryPreparer): void {
    this.preparers.set(queue, preparer);
  }

  async list(tenantId: string, filter: DeadLetterFilter, limit = 50): Promise<DeadLetterView[]> {
    checkDateRange(filter);
    return (await this.deadLetters.list(tenantId, filter, limit)).map(toView);
  }

  async get(tenantId: string, id: string) {
    const row = await this.deadLetters.find(tenantId, id);
    if (!row)
      throw new DomainError('DEAD_LETTER.UNKNOWN', `no dead letter ${id}`, 'not_found', [
        { field: 'id', reason: 'no such dead letter' },
      ]);
    return {
      ...toView(row),
      payload: row.payload,
      stack: row.error_stack,
      history: row.history,
    };
  }

  /** Open dead letters by error fingerprint, largest group first. */
  async groups(tenantId: string, filter: DeadLetterFilter): Promise<DeadLetterGroup[]> {
    checkDateRange(filter);
    const rows = await this.deadLetters.groups(tenantId, { ...filter, status: filter.status ?? 'open' });
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      queue: r.queue,
      jobName: r.job_name,
      count: r.count,
      lastFailedAt: r.last_failed_at.toISOString(),
      sampleError: r.sample_error,
    }));
  }

  async retry(actor: EventActor, tenantId: string, id: string) {
    const retried = await unitOfWork(this.db, async (m) => {
      const row = await this.deadLetters.find(tenantId, id, m, true);
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
    checkDateRange(filter, { prefix: 'filter.' });
    if (!options.all && !FILTER_KEYS.some((k) => filter[k] !== undefined && k !== 'status')) {
      throw new DomainError(
        'DEAD_LETTER.FILTER_REQUIRED',
        'a bulk retry needs at least one filter; send all: true to retry every open dead letter',
        'invalid',
        [{ field: 'filter', reason: 'empty filter without all: true' }],
      );
    }
    const open = { ...filter, status: 'open' as const };
    if (options.dryRun) return { dryRun: true, matched: await this.deadLetters.count(tenantId, open), retried: 0 };
    const perSecond = options.perSecond ?? 20;
    const jobs = await unitOfWork(this.db, async (m) => {
      const rows = await this.deadLetters.lockMatching(m, tenantId, open, 10_000);
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
    await unitOfWork(this.db, async (m) => {
      if (!(await this.deadLetters.discard(m, tenantId, id, reason, `${actor.type}:${actor.id}`))) {
        const exists = await this.deadLetters.find(tenantId, id, m);
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
    await this.deadLetters.markRetried(m, row.id, `${actor.type}:${actor.id}`);
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
        await this.deadLetters.unmarkRetried(ids);
        throw error;
      }
    }
  }
}
