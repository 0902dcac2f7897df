import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
  DeadLetterService,
  type JobOf,
  MAINTENANCE_QUEUE,
  type MaintenanceJobs,
  PRUNE_TABLES_JOB,
  type QueueOf,
  TablePruner,
} from '@wms/events';
import { DeadLetteringHost } from './dead-lettering.host.js';

/** How often expired rows are pruned: often enough that each run has little to do. */
export const PRUNE_TABLES_EVERY_MS = 60 * 60_000;

/**
 * Queue `maintenance`: installation-wide upkeep. Each job has a BullMQ job scheduler of the same id, upserted at
 * every worker's boot: however many workers run, each iteration is one job, run by one of them.
 */
@Injectable()
export class MaintenanceProcessor extends DeadLetteringHost implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: QueueOf<MaintenanceJobs>,
    private readonly pruner: TablePruner,
    deadLetters: DeadLetterService,
  ) {
    super(deadLetters);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      PRUNE_TABLES_JOB,
      { every: PRUNE_TABLES_EVERY_MS },
      { name: PRUNE_TABLES_JOB, data: {} },
    );
  }

  async process(job: JobOf<MaintenanceJobs>): Promise<void> {
    switch (job.name) {
      case PRUNE_TABLES_JOB: {
        const report = await this.pruner.prune({ actor: { type: 'system', id: 'maintenance' } });
        if (report.failed.length) throw new Error(`pruning ${report.failed.join(', ')} failed; the rest was pruned`);
        return;
      }
    }
  }
}
