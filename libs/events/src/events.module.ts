import { BullModule } from '@nestjs/bullmq';
import { EventsConfig } from './config/events-config.js';
import { DynamicModule, Global, Injectable, Logger, Module, OnApplicationShutdown, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Emitter as PostgresEmitter } from '@socket.io/postgres-emitter';
import { Emitter as RedisEmitter } from '@socket.io/redis-emitter';
import { createPostgresBackend, setDefaultBackendFactory, type DefaultJobOptions } from 'bullmq';
import pg from 'pg';
import { AccessChanges } from './access/access-changes.js';
import { CredentialsRepository } from './access/credentials.repository.js';
import { SessionsRepository } from './access/sessions.repository.js';
import { SignInRepository } from './access/sign-in.repository.js';
import { RateLimitWindowsRepository } from './access/rate-limit-windows.repository.js';
import { TenantsRepository } from './access/tenants.repository.js';
import { TenantsService } from './access/tenants.service.js';
import { UsersRepository } from './access/users.repository.js';
import { ArchiveRestore } from './archive/archive-restore.service.js';
import { EventArchive } from './archive/event-archive.service.js';
import { RestoredEventsRepository } from './archive/restored-events.repository.js';
import { AuditService } from './audit/audit.service.js';
import { EventBroadcaster, SOCKET_EMITTER, SocketEmitter } from './broadcasting/event-broadcaster.service.js';
import { socketChannel } from './broadcasting/rooms.js';
import { bullConnection, createRedisClient, queuePrefix } from './database/connections.js';
import { DeadLetterAdminService } from './dead-letters/dead-letter-admin.service.js';
import { DeadLetterService } from './dead-letters/dead-letter.service.js';
import { DeadLetterRepository } from './dead-letters/dead-letter.repository.js';
import { ReplayService } from './replay/replay.service.js';
import { ProjectionRebuildService } from './replay/projection-rebuild.service.js';
import { ListenerRebuildsRepository } from './replay/listener-rebuilds.repository.js';
import { ListenerLocks } from './listeners/listener-locks.service.js';
import { MonitoringService } from './monitoring/monitoring.service.js';
import { SystemAlertsRepository } from './monitoring/system-alerts.repository.js';
import { ListenerRegistry } from './listeners/listener-registry.service.js';
import { ListenerRunner } from './listeners/listener-runner.service.js';
import { ListenerReceiptsRepository } from './listeners/listener-receipts.repository.js';
import { OutboxRelay } from './outbox/outbox-relay.service.js';
import { OutboxRepository } from './outbox/outbox.repository.js';
import { IdempotencyRepository } from './idempotency/idempotency.repository.js';
import { EventPipeline } from './processing/event-pipeline.service.js';
import { EventDispatcher } from './publishing/event-dispatcher.service.js';
import { EventRecorder } from './outbox/event-recorder.js';
import { EventService } from './publishing/event.service.js';
import { StatementCommands } from './publishing/statement-commands.service.js';
import { EVENTS_QUEUE, LISTENERS_QUEUE, MAINTENANCE_QUEUE, PROCESS_EVENT_ATTEMPTS } from './queues.js';
import { EventPartitions } from './store/event-partitions.js';
import { TablePruner } from './retention/table-pruner.service.js';
import { EventStoreRepository } from './store/event-store.repository.js';
import { declareLifetime } from './retention/table-lifetimes.js';

// Broadcasts too large for a NOTIFY (Postgres-only profile) wait here for the api instances to read them; the
// socket.io adapter deletes its own after 30 s while an api runs. This is for when none does.
declareLifetime('socket_io_attachments', {
  lifetime: 'an hour (socket.io reads an attachment within seconds; its adapter deletes them after 30 s)',
  expired: () => ({ where: `created_at < now() - interval '1 hour'`, params: [] }),
});
import { RollupsRepository } from './rollups/rollups.repository.js';

/** Owns the connection the socket.io emitter publishes on, and closes it at shutdown. */
@Injectable()
class SocketEmitterConnection implements OnApplicationShutdown {
  readonly emitter: SocketEmitter;
  private readonly close: () => Promise<unknown>;

  constructor(config: EventsConfig) {
    if (config.QUEUE_CONNECTION === 'redis') {
      // One PUBLISH per stored event: auto-pipelining sends those of one tick in one write, not one write each
      // (the worker's socket writes to Redis were 8 % of its CPU under `npm run bench`).
      const client = createRedisClient(config, { lazyConnect: false, enableAutoPipelining: true });
      // ioredis reconnects by itself; log instead of crashing on an unhandled 'error'.
      client.on('error', (error: Error) =>
        new Logger('SocketEmitter').warn({ error: error.message }, 'Redis connection error; reconnecting'),
      );
      // Classic PUBLISH: on a cluster it reaches the subscribers on every node, the api's adapter among them.
      this.emitter = new RedisEmitter(client, { key: socketChannel(config.QUEUE_PREFIX) });
      this.close = () => client.quit().catch(() => client.disconnect());
    } else {
      const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
      this.emitter = new PostgresEmitter(pool, undefined, { channelPrefix: socketChannel(config.QUEUE_PREFIX) });
      this.close = () => pool.end();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}

@Global()
@Module({})
export class EventsModule {
  /** Everything both apps share: Postgres, the queues (Redis or Postgres backend), publishing and processing. */
  static forRoot(config: EventsConfig): DynamicModule {
    const redis = config.QUEUE_CONNECTION === 'redis';
    // BullMQ picks its datastore per process; Postgres-only sites run on BullMQ's own PostgreSQL backend.
    setDefaultBackendFactory(redis ? undefined : createPostgresBackend);
    const connection = redis ? bullConnection(config) : { connectionString: config.DATABASE_URL, max: 10 };
    const listenerJobs: DefaultJobOptions = {
      attempts: config.LISTENER_ATTEMPTS,
      backoff: { type: 'exponential', delay: config.LISTENER_BACKOFF_MS },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    };
    const providers: Provider[] = [
      { provide: EventsConfig, useValue: config },
      SocketEmitterConnection,
      {
        provide: SOCKET_EMITTER,
        useFactory: (c: SocketEmitterConnection) => c.emitter,
        inject: [SocketEmitterConnection],
      },
      EventService,
      StatementCommands,
      EventDispatcher,
      EventRecorder,
      EventStoreRepository,
      EventPartitions,
      EventArchive,
      ArchiveRestore,
      RestoredEventsRepository,
      RollupsRepository,
      OutboxRepository,
      IdempotencyRepository,
      OutboxRelay,
      EventPipeline,
      EventBroadcaster,
      ListenerRegistry,
      ListenerRunner,
      ListenerReceiptsRepository,
      ListenerLocks,
      DeadLetterService,
      DeadLetterRepository,
      DeadLetterAdminService,
      ReplayService,
      ProjectionRebuildService,
      ListenerRebuildsRepository,
      MonitoringService,
      SystemAlertsRepository,
      AuditService,
      AccessChanges,
      TenantsService,
      UsersRepository,
      TenantsRepository,
      CredentialsRepository,
      SessionsRepository,
      SignInRepository,
      RateLimitWindowsRepository,
      TablePruner,
    ];
    return {
      module: EventsModule,
      imports: [
        DiscoveryModule,
        EventEmitterModule.forRoot({ wildcard: true, delimiter: '.' }),
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: config.DATABASE_URL,
          // No entities: each table's repository writes its SQL (typed rows); TypeORM keeps the DataSource,
          // the transactions and the migrations.
          synchronize: false,
          extra: { max: 20 },
          // Expected failures (a duplicate key answered with 409) are not errors; unexpected ones reach the error filter.
          logging: false,
        }),
        BullModule.forRoot({
          connection: connection as never,
          prefix: redis ? queuePrefix(config) : config.QUEUE_PREFIX,
        }),
        BullModule.registerQueue(
          {
            name: EVENTS_QUEUE,
            defaultJobOptions: {
              attempts: PROCESS_EVENT_ATTEMPTS,
              backoff: { type: 'exponential', delay: 500 },
              removeOnComplete: true,
              removeOnFail: { count: 5000 },
            },
          },
          { name: LISTENERS_QUEUE, defaultJobOptions: listenerJobs },
          {
            name: MAINTENANCE_QUEUE,
            defaultJobOptions: {
              attempts: 5,
              backoff: { type: 'exponential', delay: 10_000 },
              removeOnComplete: { count: 100 },
              removeOnFail: { count: 1000 },
            },
          },
        ),
      ],
      providers,
      exports: [...providers, TypeOrmModule, BullModule],
    };
  }
}
