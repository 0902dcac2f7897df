import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  EVENTS_QUEUE,
  ListenerRegistry,
  LISTENERS_QUEUE,
  MAINTENANCE_QUEUE,
  PROCESS_EVENT_JOB,
  PRUNE_TABLES_JOB,
} from '@wms/events';
import { DELIVER_GROUP_JOB, DELIVER_JOB, NOTIFICATIONS_QUEUE } from '@wms/notifications';
import type { Queue } from 'bullmq';
import { EventListenerProcessor } from './event-listener.processor.js';
import { MaintenanceProcessor } from './maintenance.processor.js';
import { NotificationDeliveryProcessor } from './notification-delivery.processor.js';
import { ProcessEventProcessor } from './process-event.processor.js';

/** Jobs waiting to run, looked at per queue at boot (enough to catch a renamed job or listener). */
const LOOK_AT = 10_000;
const PAGE = 500;

/**
 * At boot, every job waiting in this worker's queues must have a handler here: a job named after a listener
 * that was renamed or removed stops the worker at once, naming it — not a failed job at 3 a.m. The processors
 * are created without running (autorun: false) and start only once the check has passed.
 */
@Injectable()
export class JobNamesCheck implements OnApplicationBootstrap {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly listeners: ListenerRegistry,
    private readonly events: ProcessEventProcessor,
    private readonly listenerJobs: EventListenerProcessor,
    private readonly deliveries: NotificationDeliveryProcessor,
    private readonly maintenance: MaintenanceProcessor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.check();
    for (const host of [this.events, this.listenerJobs, this.deliveries, this.maintenance]) {
      host.worker
        .run()
        .catch((error: Error) =>
          new Logger(JobNamesCheck.name).error({ error: error.message }, 'queue worker stopped'),
        );
    }
  }

  private async check(): Promise<void> {
    const handled: Record<string, Set<string>> = {
      [EVENTS_QUEUE]: new Set([PROCESS_EVENT_JOB]),
      [LISTENERS_QUEUE]: new Set(this.listeners.all().map((l) => l.name)),
      [NOTIFICATIONS_QUEUE]: new Set([DELIVER_JOB, DELIVER_GROUP_JOB]),
      [MAINTENANCE_QUEUE]: new Set([PRUNE_TABLES_JOB]),
    };
    const unknown: string[] = [];
    for (const [queue, names] of Object.entries(handled)) {
      for (const name of await this.waitingNames(queue)) if (!names.has(name)) unknown.push(`${queue}/${name}`);
    }
    if (unknown.length) {
      throw new Error(
        `jobs are waiting that this worker has no handler for: ${unknown.join(', ')}; ` +
          'deploy the listener again, or remove those jobs in the queue UI (/admin/queues)',
      );
    }
  }

  private async waitingNames(queueName: string): Promise<Set<string>> {
    const queue = this.moduleRef.get<Queue>(getQueueToken(queueName), { strict: false });
    const names = new Set<string>();
    for (let start = 0; start < LOOK_AT; start += PAGE) {
      const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized'], start, start + PAGE - 1, true);
      for (const job of jobs) if (job) names.add(job.name);
      if (jobs.length < PAGE) break;
    }
    return names;
  }
}
