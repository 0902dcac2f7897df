import { DynamicModule, Global, Module, ModuleMetadata, RequestMethod } from '@nestjs/common';
import { ApiConfig, type ApiSettings } from './api-config.js';
import { TerminusModule } from '@nestjs/terminus';
import { EventsModule } from '@wms/events';
import { NotificationsModule } from '@wms/notifications';
import { WmsDomainModule } from '@wms/wms-domain';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { QueuesBoardModules } from './dashboard/queues-board.js';
import { DeadLettersController } from './dead-letters/dead-letters.controller.js';
import { EventsController } from './events/events.controller.js';
import { HealthController } from './health/health.controller.js';
import { MyNotificationsController, NotificationRulesController } from './notifications/notifications.controller.js';
import { EventsGateway } from './socket/events.gateway.js';
import { TenantsController } from './tenants/tenants.controller.js';
import { InboundController } from './inbound/inbound.controller.js';
import { InventoryController } from './inventory/inventory.controller.js';
import { MasterDataController } from './master-data/master-data.controller.js';
import { OutboundController } from './outbound/outbound.controller.js';
import { ScanBatchService } from './scans/scan-batch.service.js';
import { ScansController } from './scans/scans.controller.js';

/** The api's own settings, for every module of the api. */
@Global()
@Module({})
class ApiConfigModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return { module: ApiConfigModule, providers: [{ provide: ApiConfig, useValue: config }], exports: [ApiConfig] };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: ApiSettings, extra: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot({
          // The publish hot path gets no per-request logger; its failures are logged by the error filter.
          exclude: [{ method: RequestMethod.POST, path: 'events' }],
          pinoHttp: {
            level: config.LOG_LEVEL,
            base: { app: 'api' },
            // Never log credentials or tokens.
            redact: [
              'req.headers.authorization',
              'req.headers.cookie',
              'req.headers["x-api-key"]',
              'res.headers["set-cookie"]',
            ],
            // At scanner rates an access-log line per request costs more than the work: the error filter logs failures instead.
            autoLogging: false,
            serializers: {
              req: (req: { id: unknown; method: string; url: string }) => ({
                id: req.id,
                method: req.method,
                url: req.url,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
        }),
        TerminusModule,
        ApiConfigModule.forRoot(config),
        EventsModule.forRoot(config),
        WmsDomainModule,
        NotificationsModule.forRoot(config),
        AuthModule,
        ...QueuesBoardModules,
        ...extra,
      ],
      controllers: [
        EventsController,
        HealthController,
        MasterDataController,
        InboundController,
        InventoryController,
        OutboundController,
        ScansController,
        MyNotificationsController,
        NotificationRulesController,
        DeadLettersController,
        DashboardController,
        TenantsController,
      ],
      providers: [EventsGateway, ScanBatchService],
    };
  }
}
