import { Injectable } from '@nestjs/common';
import { DeadLetterService, type JobOf, type ListenerJobs, ListenerRunner } from '@wms/events';
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

  async process(job: JobOf<ListenerJobs>): Promise<void> {
    await this.runner.run(job.name, job.data);
  }
}
