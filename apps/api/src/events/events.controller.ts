import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  type BatchItem,
  type BatchOutcome,
  classValidatorProblems,
  compiledCheck,
  DomainError,
  EventCatalog,
  EventService,
  EventStoreRepository,
  type FieldProblem,
  ListenerRegistry,
} from '@wms/events';
import { type CommandContext, KnownWarehouses } from '@wms/wms-domain';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Allow, Auth, canSeeWarehouse, type Principal } from '../auth/principal.js';
import { Ctx } from '../common/request-context.js';
import { IdParam } from '../common/params.js';
import { badTextAt } from '../common/request-text.js';
import { CatchUpQuery, ListEventsQuery } from './list-events.query.js';
import {
  AcceptedEventDto,
  BATCH_BODY_LIMIT,
  BATCH_MAX_ITEMS,
  type BatchItemResultDto,
  PublishBatchDto,
  PublishBatchItemDto,
  PublishBatchResultDto,
  PublishEventDto,
} from './publish-event.dto.js';

const refused = (code: string, message: string, fields: FieldProblem[]): BatchItemResultDto => ({
  status: 'refused',
  error: { code, message, fields },
});

/** An item's shape, checked as the pipe checks POST /events' body: the item, or its refusal naming `items[i].…`. */
function batchItem(item: unknown, i: number): { item: BatchItem } | { result: BatchItemResultDto } {
  const at = `items[${i}]`;
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    return {
      result: refused('REQUEST.INVALID', `${at} must be an object`, [{ field: at, reason: 'must be an object' }]),
    };
  const badText = badTextAt(item, at);
  if (badText) {
    const reason = 'holds a NUL character or a lone UTF-16 surrogate';
    return { result: refused('REQUEST.INVALID_TEXT', `${badText} ${reason}`, [{ field: badText, reason }]) };
  }
  const problems = compiledCheck(PublishBatchItemDto, item, at);
  if (problems) {
    const worded = classValidatorProblems(PublishBatchItemDto, item, at);
    const fields = worded.length ? worded : problems;
    const message = `invalid item: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`;
    return { result: refused('REQUEST.INVALID', message, fields) };
  }
  return { item: item as BatchItem };
}

const answer = (outcome: BatchOutcome, i: number): BatchItemResultDto =>
  outcome.status === 'refused'
    ? refused(
        outcome.error.code,
        outcome.error.message,
        outcome.error.fields.map((f) => ({ field: `items[${i}].${f.field}`, reason: f.reason })),
      )
    : { status: outcome.status, id: outcome.id };

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

  @Post('events/batch')
  @Allow('integration', 'admin')
  @HttpCode(200)
  @ApiOperation({
    summary: `publish up to ${BATCH_MAX_ITEMS} integration events, each answered on its own`,
    description:
      `Body up to ${BATCH_BODY_LIMIT / 1024 / 1024} MB. Each item is what POST /events takes, with its own optional ` +
      '`idempotencyKey`; each is validated and recorded on its own, and one bad item never refuses the others. ' +
      'Accepted items are durable in Postgres before the answer. A 400 only when the batch itself is malformed ' +
      `(not an object with an \`items\` list of 1–${BATCH_MAX_ITEMS}), 413 when the body is too big.`,
  })
  @ApiOkResponse({
    type: PublishBatchResultDto,
    description:
      'one result per item, in order: `accepted` with the id, `replayed` with the id the first request recorded ' +
      '(same key, same body), or `refused` with the error naming the field (`items[3].payload.quantity`)',
  })
  async publishBatch(
    @Auth() principal: Principal,
    @Ctx() ctx: CommandContext,
    @Body() _shape: PublishBatchDto,
    @Req() req: FastifyRequest,
  ): Promise<PublishBatchResultDto> {
    // The items as sent: the pipe's class-transformer drops keys named like Object.prototype members (`toString`),
    // which must be refused here, item by item, not ignored.
    const checked = (req.body as { items: unknown[] }).items.map(batchItem);
    const valid = checked.flatMap((c, i) => ('item' in c ? [{ item: c.item, i }] : []));
    const outcomes = await this.events.acceptBatch(
      valid.map((v) => v.item),
      ctx,
      { warehouses: principal.warehouses, directory: this.warehouses },
      ctx.idempotencyScope,
    );
    const results = checked.map((c) => ('result' in c ? c.result : undefined));
    valid.forEach(({ i }, n) => (results[i] = answer(outcomes[n], i)));
    return { results: results as BatchItemResultDto[] };
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
