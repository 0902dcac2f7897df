import { Processor } from '@nestjs/bullmq';
import type { WorkerSettings } from './worker-config.js';
import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { EVENTS_QUEUE, EventsModule, LISTENERS_QUEUE, MAINTENANCE_QUEUE } from '@wms/events';
import { NOTIFICATIONS_QUEUE, NotificationsModule } from '@wms/notifications';
import { WmsDomainModule } from '@wms/wms-domain';
import { LoggerModule } from 'nestjs-pino';
import { EventListenerProcessor } from './event-listener.processor.js';
import { JobNamesCheck } from './job-names.check.js';
import { MaintenanceProcessor } from './maintenance.processor.js';
import { NotificationDeliveryProcessor } from './notification-delivery.processor.js';
import { OutboxRelayScheduler } from './outbox-relay.scheduler.js';
import { SystemAlertMonitor } from './system-alert.monitor.js';
import { ProcessEventProcessor } from './process-event.processor.js';

@Module({})
export class WorkerModule {
  /** `extra` lets tests add listener modules. */
  static forRoot(config: WorkerSettings, extra: ModuleMetadata['imports'] = []): DynamicModule {
    // A worker whose lock is not renewed within lockDuration (killed, stuck) has its job taken over.
    // autorun: false — JobNamesCheck starts the processors once it has checked the waiting jobs' names.
    const workerOptions = {
      autorun: false,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_MS,
      stalledInterval: config.WORKER_LOCK_MS,
    };
    Processor(EVENTS_QUEUE, workerOptions)(ProcessEventProcessor);
    Processor(LISTENERS_QUEUE, {
      ...workerOptions,
      concurrency: Math.max(1, Math.floor(config.WORKER_CONCURRENCY / 2)),
    })(EventListenerProcessor);
    Processor(NOTIFICATIONS_QUEUE, { ...workerOptions, concurrency: 20 })(NotificationDeliveryProcessor);
    // Several at once, so an hour-long archive run does not hold back the alert check or the rollup compaction;
    // each job guards itself against a concurrent run of its own kind (advisory locks, idempotent statements).
    Processor(MAINTENANCE_QUEUE, { ...workerOptions, concurrency: 4 })(MaintenanceProcessor);
    return {
      module: WorkerModule,
      imports: [
        LoggerModule.forRoot({ pinoHttp: { level: config.LOG_LEVEL, base: { app: 'worker' } } }),
        EventsModule.forRoot(config),
        WmsDomainModule,
        NotificationsModule.forRoot(config),
        ...extra,
      ],
      providers: [
        JobNamesCheck,
        ProcessEventProcessor,
        EventListenerProcessor,
        NotificationDeliveryProcessor,
        MaintenanceProcessor,
        OutboxRelayScheduler,
        SystemAlertMonitor,
      ],
    };
  }
}
