import { Module } from '@nestjs/common';
import { ApiConfig } from '../api-config.js';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { EventsConfig, RateLimitWindowsRepository } from '@wms/events';
import { WmsDomainModule } from '@wms/wms-domain';

import { AdminController } from './admin.controller.js';
import { AuthController, LOGIN_RATE_LIMITED } from './auth.controller.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService } from './auth.service.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { PostgresThrottlerStorage } from './postgres-throttler.storage.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';
import { TokenService } from './token.service.js';

/** Sign-in, tokens, roles and warehouse scoping on every route, rate limits, admin of people and credentials. */
@Module({
  imports: [
    // Warehouses named on people, devices and keys must exist.
    WmsDomainModule,
    ThrottlerModule.forRootAsync({
      inject: [ApiConfig, EventsConfig, RateLimitWindowsRepository],
      useFactory: (config: ApiConfig, events: EventsConfig, windows: RateLimitWindowsRepository) => ({
        // Shared by every api instance: a limit spent on one is spent on all.
        storage:
          events.QUEUE_CONNECTION === 'redis'
            ? new RedisThrottlerStorage(events, events.QUEUE_PREFIX)
            : new PostgresThrottlerStorage(windows, events.QUEUE_PREFIX),
        throttlers: [
          { name: 'default', ttl: 60_000, limit: config.RATE_LIMIT_PER_MINUTE },
          {
            name: 'login',
            ttl: 60_000,
            limit: config.LOGIN_RATE_PER_MINUTE,
            skipIf: (ctx) => !Reflect.getMetadata(LOGIN_RATE_LIMITED, ctx.getHandler()),
          },
        ],
      }),
    }),
  ],
  controllers: [AuthController, AdminController],
  providers: [
    TokenService,
    AuthService,
    // Order matters: who is calling first, then how often they call.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [TokenService],
})
export class AuthModule {}
