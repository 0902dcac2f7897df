import { InjectQueue } from '@nestjs/bullmq';
import { EventsConfig } from '@wms/events';
import { Controller, Get } from '@nestjs/common';
import { Public } from '../auth/principal.js';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { EVENTS_QUEUE } from '@wms/events';
import type { Queue } from 'bullmq';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly config: EventsConfig,
    @InjectQueue(EVENTS_QUEUE) private readonly queue: Queue,
  ) {}

  /**
   * Readiness: Postgres answers and the queue backend answers. Public, so it tells nothing of any tenant's volume
   * (operators read /metrics).
   */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.db.pingCheck('postgres', { timeout: 2000 }),
      async () => {
        const session = this.indicators.check('queue');
        try {
          await withTimeout(this.queue.getJobCounts('waiting'), 2000);
          return session.up({ backend: this.config.QUEUE_CONNECTION });
        } catch (error) {
          return session.down({ backend: this.config.QUEUE_CONNECTION, message: (error as Error).message });
        }
      },
    ]);
  }

  /** Liveness: the process answers. */
  @Get('live')
  live() {
    return { status: 'ok' };
  }
}
