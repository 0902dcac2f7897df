import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import {
  ARCHIVE_EVENT_PARTITIONS_JOB,
  CHECK_SYSTEM_ALERTS_JOB,
  COMPACT_ROLLUPS_JOB,
  DeadLetterService,
  EventArchive,
  ENSURE_EVENT_PARTITIONS_JOB,
  EventPartitions,
  EventsConfig,
  type JobOf,
  MAINTENANCE_QUEUE,
  maintenanceSchedule,
  type MaintenanceJobs,
  PRUNE_ROLLUPS_JOB,
  PRUNE_TABLES_JOB,
  type QueueOf,
  RollupsRepository,
  TablePruner,
} from '@wms/events';
import { DeadLetteringHost } from './dead-lettering.host.js';
import { SystemAlertMonitor } from './system-alert.monitor.js';

/**
 * Queue `maintenance`: housekeeping on BullMQ job schedulers, so each run happens once however many workers
 * there are. Registered in WorkerModule.
 */
@Injectable()
export class MaintenanceProcessor extends DeadLetteringHost implements OnModuleInit {
  constructor(
    private readonly partitions: EventPartitions,
    private readonly archive: EventArchive,
    private readonly rollups: RollupsRepository,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: QueueOf<MaintenanceJobs>,
    private readonly pruner: TablePruner,
    private readonly alerts: SystemAlertMonitor,
    private readonly config: EventsConfig,
    deadLetters: DeadLetterService,
  ) {
    super(deadLetters);
  }

  /** Before any processor runs: the partitions are there, and every worker upserts the same schedulers. */
  async onModuleInit(): Promise<void> {
    await this.partitions.ensureAhead();
    const schedule = maintenanceSchedule(this.config);
    for (const name of Object.keys(schedule) as (keyof MaintenanceJobs)[]) {
      await this.queue.upsertJobScheduler(name, schedule[name], { name, data: {} });
    }
  }

  async process(job: JobOf<MaintenanceJobs>): Promise<void> {
    switch (job.name) {
      case ENSURE_EVENT_PARTITIONS_JOB:
        await this.partitions.ensureAhead();
        return;
      case PRUNE_TABLES_JOB: {
        const report = await this.pruner.prune({ actor: { type: 'system', id: 'maintenance' } });
        if (report.failed.length) throw new Error(`pruning ${report.failed.join(', ')} failed; the rest was pruned`);
        return;
      }
      case ARCHIVE_EVENT_PARTITIONS_JOB: {
        // A partition left in the store is retried with the job's backoff, then shows in the dead letters.
        const failed = (await this.archive.run()).partitions.filter((p) => p.reason && p.outcome !== 'archived');
        if (failed.length) throw new Error(failed.map((p) => `${p.partition} not archived: ${p.reason}`).join('; '));
        return;
      }
      case COMPACT_ROLLUPS_JOB:
        await this.rollups.compact();
        return;
      case PRUNE_ROLLUPS_JOB:
        await this.rollups.prune();
        return;
      case CHECK_SYSTEM_ALERTS_JOB:
        await this.alerts.check();
        return;
    }
  }
}
