import { Injectable } from '@nestjs/common';
import { DeadLetterService, EventEnvelope, ListenerRunner } from '@wms/events';
import type { Job } from 'bullmq';
import { DeadLetteringHost } from './dead-lettering.host.js';

/** Queue `event-listeners`: one job per (listener, event), named after the listener, retried on its own. */
@Injectable()
export class EventListenerProcessor extends DeadLetteringHost {
  constructor(
    private readonly runner: ListenerRunner,
    deadLetters: DeadLetterService,
  ) {
    super(deadLetters);
  }

  async process(job: Job<EventEnvelope>): Promise<void> {
    await this.runner.run(job.name, job.data);
  }
}
