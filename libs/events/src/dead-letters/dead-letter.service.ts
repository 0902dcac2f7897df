import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { createHash } from 'node:crypto';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { businessKeys } from '../catalog/event-catalog.js';
import { EventService } from '../publishing/event.service.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { PROCESS_EVENT_JOB } from '../queues.js';
import { RollupsRepository } from '../rollups/rollups.repository.js';
import { DeadLetterRepository } from './dead-letter.repository.js';
import './dead-letter.events.js';

/** What the dead-letter store needs of a failed BullMQ job. */
export interface FailedJob {
  queue: string;
  name: string;
  id: string;
  data: unknown;
  attemptsMade: number;
  timestamp: number;
  stacktrace: string[];
}

/** Groups errors that differ only in ids, numbers and quoted values. */
export function errorFingerprint(jobName: string, message: string): string {
  const shape = message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\d+/g, '<n>');
  return createHash('sha1').update(`${jobName}\n${shape}`).digest('hex').slice(0, 16);
}

/** Job ids of retried dead letters: `dl@<dead letter id>@<retry number>` (BullMQ forbids ':' in ids). */
export const retryJobId = (deadLetterId: string, retry: number) => `dl@${deadLetterId}@${retry}`;
const RETRY_JOB_ID = /^dl@([0-9a-f-]{36})@\d+$/;

const isEnvelope = (data: unknown): data is EventEnvelope =>
  typeof data === 'object' &&
  data !== null &&
  typeof (data as EventEnvelope).id === 'string' &&
  typeof (data as EventEnvelope).name === 'string';

/** The tenant a job belongs to: its event's, or the one its data names. */
const tenantOf = (data: unknown): string | null =>
  isEnvelope(data)
    ? data.tenantId
    : typeof (data as { tenantId?: unknown })?.tenantId === 'string'
      ? (data as { tenantId: string }).tenantId
      : null;

@Injectable()
export class DeadLetterService {
  private readonly logger = new Logger(DeadLetterService.name);

  constructor(
    private readonly events: EventService,
    private readonly deadLetters: DeadLetterRepository,
    private readonly outbox: OutboxRepository,
    private readonly rollups: RollupsRepository,
  ) {}

  /**
   * Stores a job whose attempts ran out. A retried dead letter that fails again goes back to its own
   * row (status open, attempts and history kept: the retry lineage). For a `process-event` job the
   * outbox row goes with it, so the relay stops retrying it. Publishes `dead_letter.added`.
   */
  async record(job: FailedJob, error: Error): Promise<string> {
    const event = isEnvelope(job.data) ? job.data : null;
    const tenantId = tenantOf(job.data);
    const now = new Date();
    const history = job.stacktrace.map((stack) => ({ at: now.toISOString(), error: stack.split('\n')[0] }));
    if (!history.length) history.push({ at: now.toISOString(), error: error.message });
    const fingerprint = errorFingerprint(job.name, error.message);
    const retryOf = RETRY_JOB_ID.exec(job.id)?.[1];
    const { result: row } = await this.events.transaction(async (tx) => {
      const m = tx.manager;
      const failure = {
        attempts: job.attemptsMade,
        history,
        error: error.message,
        stack: error.stack ?? null,
        fingerprint,
        at: now,
      };
      const dl =
        (retryOf && (await this.deadLetters.reopen(m, retryOf, failure))) ||
        (await this.deadLetters.insert(m, {
          ...failure,
          tenantId,
          queue: job.queue,
          jobName: job.name,
          jobId: job.id,
          eventId: event?.id ?? null,
          eventName: event?.name ?? null,
          warehouseId: event?.warehouseId ?? null,
          payload: job.data,
          keys: event ? businessKeys(event.name, event.version, event.payload) : [],
          firstFailedAt: new Date(job.timestamp),
        }));
      if (event && job.name === PROCESS_EVENT_JOB) await this.outbox.remove(m, event.id);
      if (tenantId) {
        // A failure each time a job lands here (a retried one that fails again counts again), with the row.
        await this.rollups.recordFailure(
          m,
          { tenantId, warehouseId: event?.warehouseId ?? null, eventName: event?.name ?? null },
          now,
        );
        await tx.publish(
          'dead_letter.added',
          {
            deadLetterId: dl.id,
            queue: job.queue,
            jobName: job.name,
            eventName: event?.name,
            error: error.message.slice(0, 2000),
            fingerprint,
            retries: dl.retries,
          },
          {
            tenantId,
            warehouseId: event?.warehouseId ?? null,
            actor: { type: 'system', id: 'worker' },
            source: 'worker',
            causationId: event?.id ?? null,
            correlationId: event?.correlationId,
          },
        );
      }
      return dl;
    });
    this.logger.error(
      {
        deadLetterId: row.id,
        queue: job.queue,
        jobName: job.name,
        jobId: job.id,
        eventId: event?.id,
        error: error.message,
      },
      'job moved to the dead-letter store',
    );
    return row.id;
  }

  /** A retried dead letter whose job then succeeded is resolved. */
  async completed(jobId: string | undefined): Promise<void> {
    const retryOf = jobId ? RETRY_JOB_ID.exec(jobId)?.[1] : undefined;
    if (retryOf) await this.deadLetters.resolveRetried(retryOf);
  }
}

/** True when BullMQ will not try the job again: attempts used up, or the error is unrecoverable. */
export const isExhausted = (job: Job, error: Error) =>
  error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);

export const failedJobOf = (job: Job): FailedJob => ({
  queue: job.queueName,
  name: job.name,
  id: job.id ?? '',
  data: job.data,
  attemptsMade: job.attemptsMade,
  timestamp: job.timestamp,
  stacktrace: job.stacktrace ?? [],
});
