import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import { DomainError, EventCatalog, EventService, EventStoreRepository, ListenerRegistry } from '@wms/events';
import { type CommandContext, KnownWarehouses } from '@wms/wms-domain';
import type { FastifyReply } from 'fastify';
import { Allow, Auth, canSeeWarehouse, type Principal } from '../auth/principal.js';
import { Ctx } from '../common/request-context.js';
import { IdParam } from '../common/params.js';
import { CatchUpQuery, ListEventsQuery } from './list-events.query.js';
import { AcceptedEventDto, PublishEventDto } from './publish-event.dto.js';

@ApiTags('events')
@ApiBearerAuth()
@Controller()
export class EventsController {
  constructor(
    private readonly events: EventService,
    private readonly store: EventStoreRepository,
    private readonly listeners: ListenerRegistry,
    private readonly warehouses: KnownWarehouses,
  ) {}

  @Post('events')
  @Allow('integration', 'admin')
  @HttpCode(202)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'a resend with the same key returns the first response and stores nothing new',
  })
  @ApiAcceptedResponse({ type: AcceptedEventDto, description: 'durable in Postgres; stored and broadcast shortly' })
  async publish(
    @Auth() principal: Principal,
    @Ctx() ctx: CommandContext,
    @Body() dto: PublishEventDto,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<AcceptedEventDto> {
    const { event: e, replayed } = await this.events.accept(
      dto.name,
      dto.payload,
      { ...ctx, correlationId: dto.correlationId ?? ctx.correlationId, causationId: dto.causationId },
      { warehouses: principal.warehouses, directory: this.warehouses },
      dto,
      ctx.idempotencyKey === undefined
        ? undefined
        : {
            tenantId: ctx.tenantId,
            scope: ctx.idempotencyScope,
            key: ctx.idempotencyKey,
            request: { route: 'POST /events', dto },
          },
    );
    if (replayed) res.header('Idempotent-Replayed', 'true');
    return {
      id: e.id,
      name: e.name,
      version: e.version,
      aggregateType: e.aggregateType,
      aggregateId: e.aggregateId,
      streamPosition: e.streamPosition,
      recordedAt: e.recordedAt,
    };
  }

  @Get('events')
  @Allow('supervisor', 'admin')
  list(@Auth() principal: Principal, @Query() q: ListEventsQuery) {
    assertWarehouse(principal, q.warehouseId);
    return this.store.find({
      ...q,
      tenantId: principal.tenantId,
      visibleWarehouses: principal.warehouses,
      after: q.cursor,
    });
  }

  /** Declared before events/:id, which would take `stream` for an id. */
  @Get('events/stream')
  @Allow('operator', 'supervisor', 'admin', 'integration')
  catchUp(@Auth() principal: Principal, @Query() q: CatchUpQuery) {
    assertWarehouse(principal, q.warehouseId);
    return this.store.catchUp({ ...q, tenantId: principal.tenantId, visibleWarehouses: principal.warehouses });
  }

  @Get('events/:id')
  @Allow('supervisor', 'admin')
  get(@Auth() principal: Principal, @Param('id', IdParam) id: string) {
    return this.store.findById(principal.tenantId, id, principal.warehouses);
  }

  @Get('event-types')
  @Allow('operator', 'supervisor', 'admin', 'integration')
  @ApiTags('catalog')
  types() {
    return EventCatalog.describe((name) => this.listeners.forEvent(name).map((l) => l.name));
  }
}

function assertWarehouse(principal: Principal, warehouseId: string | undefined): void {
  if (warehouseId && !canSeeWarehouse(principal, warehouseId))
    throw new DomainError('AUTH.FORBIDDEN_WAREHOUSE', `you are not assigned to warehouse ${warehouseId}`, 'forbidden', [
      { field: 'warehouseId', reason: 'not one of your warehouses' },
    ]);
}
