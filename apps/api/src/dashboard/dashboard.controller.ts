import { Controller, Get, Header, Query, Res } from '@nestjs/common';
import { EventsConfig } from '@wms/events';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DomainError, MAX_WINDOW_MINUTES, MonitoringService } from '@wms/events';
import type { FastifyReply } from 'fastify';
import { Allow, Auth, canSeeWarehouse, type Principal } from '../auth/principal.js';

class StatsQuery {
  @ApiPropertyOptional({ example: 'WH1' }) @IsOptional() @IsString() @MaxLength(64) warehouseId?: string;
  /** The window, 1 minute to 30 days: per-minute figures up to 2 hours, hourly up to 3 days, daily beyond. */
  @ApiPropertyOptional({ default: 60, minimum: 1, maximum: MAX_WINDOW_MINUTES })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_WINDOW_MINUTES)
  minutes = 60;
}

/** What the monitoring dashboard shows, and the Prometheus endpoint for operators. */
@ApiTags('monitoring')
@ApiBearerAuth()
@Controller()
export class DashboardController {
  constructor(
    private readonly monitoring: MonitoringService,
    private readonly config: EventsConfig,
  ) {}

  @Get('dashboard/stats')
  @Allow('supervisor', 'admin')
  stats(@Auth() p: Principal, @Query() q: StatsQuery) {
    if (q.warehouseId && !canSeeWarehouse(p, q.warehouseId)) {
      throw new DomainError(
        'AUTH.FORBIDDEN_WAREHOUSE',
        `you are not assigned to warehouse ${q.warehouseId}`,
        'forbidden',
        [{ field: 'warehouseId', reason: 'not one of your warehouses' }],
      );
    }
    // The queues count every tenant's jobs: their figures are for the operating tenant's admins only.
    const queueWide = p.role === 'admin' && p.tenantId === this.config.OPS_TENANT;
    return this.monitoring.stats(p.tenantId, p.warehouses, q.warehouseId, q.minutes, { queueWide });
  }

  /** Prometheus scrape (bearer token of an admin or an API key): queue depths, outbox, dead letters, latency, process metrics. */
  @Get('metrics')
  @Allow('admin', 'integration')
  @Header('Cache-Control', 'no-store')
  async metrics(@Auth() p: Principal, @Res() res: FastifyReply) {
    // The figures cover every tenant: only the operating tenant's credentials may scrape them.
    if (p.tenantId !== this.config.OPS_TENANT) {
      throw new DomainError(
        'AUTH.NOT_OPERATOR',
        'metrics cover every tenant; scrape with a credential of the operating tenant (OPS_TENANT)',
        'forbidden',
        [{ field: 'Authorization', reason: 'not the operating tenant' }],
      );
    }
    const { contentType, body } = await this.monitoring.prometheus();
    res.header('Content-Type', contentType);
    res.send(body);
  }
}
