import type { Job, Queue } from 'bullmq';
import type { EventEnvelope } from './envelope/event-envelope.js';

/**
 * Queue and job names. Persistent contract: renaming one strands the jobs already waiting in Redis
 * (or in BullMQ's Postgres tables) under the old name.
 */
export const EVENTS_QUEUE = 'events';
export const PROCESS_EVENT_JOB = 'process-event';
/** One job per (queued listener, event); the job name is the listener's name. */
export const LISTENERS_QUEUE = 'event-listeners';

/** Housekeeping on a schedule (BullMQ job schedulers: each run happens once, whatever the number of workers). */
export const MAINTENANCE_QUEUE = 'maintenance';
/** Creates the event store's partitions of today and the next days (store/event-partitions.ts). */
export const ENSURE_EVENT_PARTITIONS_JOB = 'ensure-event-partitions';
/** Deletes the rows of every table that outlived its lifetime (retention/table-lifetimes.ts). */
export const PRUNE_TABLES_JOB = 'prune-tables';
/** Archives and drops the event store's partitions past EVENT_RETENTION_DAYS (archive/event-archive.service.ts). */
export const ARCHIVE_EVENT_PARTITIONS_JOB = 'archive-event-partitions';
/** Folds the rollup deltas the worker appends into the minute, hour and day tiers (rollups/rollups.repository.ts). */
export const COMPACT_ROLLUPS_JOB = 'compact-rollups';
/** Deletes rollup rows past their tier's lifetime. */
export const PRUNE_ROLLUPS_JOB = 'prune-rollups';
/** Compares each tenant's figures with the ALERT_* thresholds and raises `system.alert` (apps/worker/src/system-alert.monitor.ts). */
export const CHECK_SYSTEM_ALERTS_JOB = 'check-system-alerts';

export const PROCESS_EVENT_ATTEMPTS = 10;

/** BullMQ rejects custom job ids containing ':'; `@` keeps (listener, event) readable and unique. */
export const listenerJobId = (listener: string, eventId: string) => `${listener}@${eventId}`;

/** The jobs of the `events` queue, by name. */
export interface EventsJobs {
  [PROCESS_EVENT_JOB]: EventEnvelope;
}

/** The jobs of the `maintenance` queue, by name; none needs data. */
export interface MaintenanceJobs {
  [ENSURE_EVENT_PARTITIONS_JOB]: Record<string, never>;
  [PRUNE_TABLES_JOB]: Record<string, never>;
  [ARCHIVE_EVENT_PARTITIONS_JOB]: Record<string, never>;
  [COMPACT_ROLLUPS_JOB]: Record<string, never>;
  [PRUNE_ROLLUPS_JOB]: Record<string, never>;
  [CHECK_SYSTEM_ALERTS_JOB]: Record<string, never>;
}

/** How often each maintenance job runs; the scheduler's id is the job's name. */
export const MAINTENANCE_SCHEDULE: { [N in keyof MaintenanceJobs]: { every: number } } = {
  // Hourly, though a partition is needed only days later: a run that failed is soon made up for.
  [ENSURE_EVENT_PARTITIONS_JOB]: { every: 3_600_000 },
  // Hourly: often enough that each run has little to do.
  [PRUNE_TABLES_JOB]: { every: 3_600_000 },
  // A day passes the retention at midnight; hourly, so it leaves within the hour, and a failed run is soon tried again.
  [ARCHIVE_EVENT_PARTITIONS_JOB]: { every: 3_600_000 },
  // Reads add the deltas not yet folded, so this only keeps them few.
  [COMPACT_ROLLUPS_JOB]: { every: 5_000 },
  [PRUNE_ROLLUPS_JOB]: { every: 3_600_000 },
  // The default of ALERT_CHECK_INTERVAL_S (maintenanceSchedule): once per tick across workers, not once per worker.
  [CHECK_SYSTEM_ALERTS_JOB]: { every: 30_000 },
};

/** The schedule the workers upsert: MAINTENANCE_SCHEDULE with the alert check at ALERT_CHECK_INTERVAL_S. */
export function maintenanceSchedule(config: { ALERT_CHECK_INTERVAL_S: number }): typeof MAINTENANCE_SCHEDULE {
  return { ...MAINTENANCE_SCHEDULE, [CHECK_SYSTEM_ALERTS_JOB]: { every: config.ALERT_CHECK_INTERVAL_S * 1000 } };
}

/** The jobs of the `event-listeners` queue: named after their listener, each carrying its event. */
export type ListenerJobs = Record<string, EventEnvelope>;

/**
 * A job of one queue, typed by its name from the queue's job map, so `switch (job.name)` narrows `job.data`
 * and a processor never casts it.
 */
export type JobOf<M> = { [N in keyof M & string]: Job<M[N], void, N> }[keyof M & string];

/** A queue that takes only its job map's names and data. */
export type QueueOf<M> = Queue<M[keyof M & string], void, keyof M & string>;
