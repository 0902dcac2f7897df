import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import {
  COMPACT_ROLLUPS_JOB,
  DeadLetterService,
  ENSURE_EVENT_PARTITIONS_JOB,
  EventPartitions,
  type JobOf,
  MAINTENANCE_QUEUE,
  MAINTENANCE_SCHEDULE,
  type MaintenanceJobs,
  PRUNE_ROLLUPS_JOB,
  type QueueOf,
  RollupsRepository,
} from '@wms/events';
import { DeadLetteringHost } from './dead-lettering.host.js';

/**
 * Queue `maintenance`: housekeeping on BullMQ job schedulers, so each run happens once however many workers
 * there are. Registered in WorkerModule.
 */
@Injectable()
export class MaintenanceProcessor extends DeadLetteringHost implements OnModuleInit {
  constructor(
    private readonly partitions: EventPartitions,
    private readonly rollups: RollupsRepository,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: QueueOf<MaintenanceJobs>,
    deadLetters: DeadLetterService,
  ) {
    super(deadLetters);
  }

  /** Before any processor runs: the partitions are there, and every worker upserts the same schedulers. */
  async onModuleInit(): Promise<void> {
    await this.partitions.ensureAhead();
    for (const name of Object.keys(MAINTENANCE_SCHEDULE) as (keyof MaintenanceJobs)[]) {
      await this.queue.upsertJobScheduler(name, MAINTENANCE_SCHEDULE[name], { name, data: {} });
    }
  }

  async process(job: JobOf<MaintenanceJobs>): Promise<void> {
    switch (job.name) {
      case ENSURE_EVENT_PARTITIONS_JOB:
        await this.partitions.ensureAhead();
        return;
      case COMPACT_ROLLUPS_JOB:
        await this.rollups.compact();
        return;
      case PRUNE_ROLLUPS_JOB:
        await this.rollups.prune();
        return;
    }
  }
}
