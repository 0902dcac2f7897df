import { IsInt, IsOptional, IsString, IsUUID, Length, Min } from 'class-validator';
import { defineEvent } from '../catalog/event-catalog.js';

// Persistent contract: stored and queued. Add fields or versions; never rename.
export class DeadLetterAddedV1 {
  @IsUUID() deadLetterId: string;
  @IsString() @Length(1, 200) queue: string;
  @IsString() @Length(1, 200) jobName: string;
  @IsOptional() @IsString() eventName?: string;
  @IsString() @Length(1, 2000) error: string;
  @IsString() fingerprint: string;
  @IsInt() @Min(0) retries: number;
}

defineEvent<DeadLetterAddedV1>({
  name: 'dead_letter.added',
  version: 1,
  payload: DeadLetterAddedV1,
  severity: 'warning',
  description:
    'A job ran out of attempts (or failed permanently) and is waiting in the dead-letter store for an admin.',
  aggregateType: 'dead_letter',
  aggregateId: (p) => p.deadLetterId,
  emittedBy: ['DeadLetterService.record — the worker, when a job is exhausted'],
});

declare module '../catalog/event-catalog.js' {
  interface EventMap {
    'dead_letter.added': DeadLetterAddedV1;
  }
}
