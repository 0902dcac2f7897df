import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiTags } from '@nestjs/swagger';
import { EventCatalog, EventService, EventStoreRepository, ListenerRegistry, PublishContext } from '@wms/events';
import type { CommandContext } from '@wms/wms-domain';
import type { Response } from 'express';
import { Ctx } from '../common/request-context.js';
import { FieldValidationException } from '../common/validation.pipe.js';
import { ListEventsQuery } from './list-events.query.js';
import { AcceptedEventDto, PublishEventDto } from './publish-event.dto.js';

@ApiTags('events')
@ApiHeader({ name: 'X-Tenant-Id', required: false, description: 'tenant slug (until sign-in lands)' })
@Controller()
export class EventsController {
  constructor(
    private readonly events: EventService,
    private readonly store: EventStoreRepository,
    private readonly listeners: ListenerRegistry,
  ) {}

  @Post('events')
  @HttpCode(202)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'a resend with the same key returns the first response and stores nothing new' })
  @ApiAcceptedResponse({ type: AcceptedEventDto, description: 'durable in Postgres; stored and broadcast shortly' })
  async publish(
    @Ctx() ctx: CommandContext,
    @Body() dto: PublishEventDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AcceptedEventDto> {
    const { event: e, replayed } = await this.events.accept(
      dto.name,
      dto.payload,
      { ...ctx, correlationId: dto.correlationId ?? ctx.correlationId, causationId: dto.causationId },
      dto,
      ctx.idempotencyKey === undefined ? undefined : { tenantId: ctx.tenantId, key: ctx.idempotencyKey, request: { route: 'POST /events', dto } },
    );
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return { id: e.id, name: e.name, version: e.version, aggregateType: e.aggregateType, aggregateId: e.aggregateId, streamPosition: e.streamPosition, recordedAt: e.recordedAt };
  }

  @Get('events')
  list(@Ctx() ctx: PublishContext, @Query() q: ListEventsQuery) {
    return this.store.find({ ...q, tenantId: ctx.tenantId, after: q.cursor });
  }

  @Get('events/:id')
  get(@Ctx() ctx: PublishContext, @Param('id', new ParseUUIDPipe({ exceptionFactory: () => new FieldValidationException([{ field: 'id', reason: 'must be a UUID' }]) })) id: string) {
    return this.store.findById(ctx.tenantId, id);
  }

  @Get('event-types')
  @ApiTags('catalog')
  types() {
    return EventCatalog.describe((name) => this.listeners.forEvent(name).map((l) => l.name));
  }
}
