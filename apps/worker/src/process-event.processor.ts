import { Injectable } from '@nestjs/common';
import { DeadLetterService, EventEnvelope, EventPipeline } from '@wms/events';
import type { Job } from 'bullmq';
import { DeadLetteringHost } from './dead-lettering.host.js';

/** Queue `events`, job `process-event`: store, broadcast, fan out. Registered in WorkerModule. */
@Injectable()
export class ProcessEventProcessor extends DeadLetteringHost {
  constructor(
    private readonly pipeline: EventPipeline,
    deadLetters: DeadLetterService,
  ) {
    super(deadLetters);
  }

  process(job: Job<EventEnvelope>): Promise<void> {
    return this.pipeline.handle(job.data);
  }
}
