import { Injectable } from '@nestjs/common';
import { DeadLetterService, EventPipeline, type EventsJobs, type JobOf, PROCESS_EVENT_JOB } from '@wms/events';
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

  process(job: JobOf<EventsJobs>): Promise<void> {
    switch (job.name) {
      case PROCESS_EVENT_JOB:
        return this.pipeline.handle(job.data);
    }
  }
}
