import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';

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

const isEnvelope = (data: unknown): data is EventEnvelope =>
  typeof data === 'object' && data !== null && typeof (data as EventEnvelope).id === 'string' && typeof (data as EventEnvelope).name === 'string';

@Injectable()
export class DeadLetterService {
  private readonly logger = new Logger(DeadLetterService.name);

  constructor(private readonly db: DataSource) {}

  /** Stores a job whose attempts ran out; for a `process-event` job the outbox row goes with it, so the relay stops retrying it. */
  async record(job: FailedJob, error: Error): Promise<string> {
    const event = isEnvelope(job.data) ? job.data : null;
    const now = new Date();
    const history = job.stacktrace.map((stack) => ({ at: now.toISOString(), error: stack.split('\n')[0] }));
    const id = await this.db.transaction(async (manager) => {
      const [row] = await manager.query(
        `INSERT INTO dead_letters (tenant_id, queue, job_name, job_id, event_id, event_name, payload, error_message, error_stack, fingerprint, attempts, history, first_failed_at, last_failed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
        [
          event?.tenantId ?? null,
          job.queue,
          job.name,
          job.id,
          event?.id ?? null,
          event?.name ?? null,
          JSON.stringify(job.data ?? null),
          error.message,
          error.stack ?? null,
          errorFingerprint(job.name, error.message),
          job.attemptsMade,
          JSON.stringify(history),
          new Date(job.timestamp),
          now,
        ],
      );
      if (event) await manager.query(`DELETE FROM event_outbox WHERE id = $1`, [event.id]);
      return row.id as string;
    });
    this.logger.error({ deadLetterId: id, queue: job.queue, jobName: job.name, jobId: job.id, eventId: event?.id, error: error.message }, 'job moved to the dead-letter store');
    return id;
  }
}

/** True when BullMQ will not try the job again: attempts used up, or the error is unrecoverable. */
export const isExhausted = (job: Job, error: Error) => error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);

export const failedJobOf = (job: Job): FailedJob => ({
  queue: job.queueName,
  name: job.name,
  id: job.id ?? '',
  data: job.data,
  attemptsMade: job.attemptsMade,
  timestamp: job.timestamp,
  stacktrace: job.stacktrace ?? [],
});
