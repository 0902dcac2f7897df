import { Body, Controller, UseInterceptors, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Allow } from '../auth/principal.js';
import { type CommandContext, InboundService, InventoryService, OutboundService } from '@wms/wms-domain';
import { PathCode, TaskIdParam, WarehouseParam } from '../common/params.js';
import { Ctx } from '../common/request-context.js';
import { TransactionResultInterceptor } from '../common/transaction-result.interceptor.js';
import {
  AdjustDto,
  CancelOrderDto,
  ConfirmPickDto,
  CountDto,
  CreateAsnDto,
  CreateOrderDto,
  HoldDto,
  MoveDto,
  PackDto,
  ReceiveDto,
  ReleaseHoldDto,
  ShipDto,
  StockQuery,
} from './warehouse.dto.js';

const NumberParam = new PathCode('number');

/** The scanner-facing operations of one warehouse: small requests, small answers, Idempotency-Key honoured. */
@ApiTags('warehouse operations')
@ApiBearerAuth()
@UseInterceptors(TransactionResultInterceptor)
@Allow('operator', 'supervisor', 'admin')
@Controller('warehouses/:wh')
export class OperationsController {
  constructor(
    private readonly inbound: InboundService,
    private readonly inventory: InventoryService,
    private readonly outbound: OutboundService,
  ) {}

  @Post('asns')
  createAsn(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: CreateAsnDto) {
    return this.inbound.createAsn(ctx, wh, dto);
  }

  @Post('asns/:number/close')
  @HttpCode(200)
  closeAsn(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('number', NumberParam) number: string,
  ) {
    return this.inbound.closeAsn(ctx, wh, number);
  }

  @Post('receipts')
  receive(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: ReceiveDto) {
    return this.inbound.receive(ctx, wh, dto);
  }

  @Post('holds')
  hold(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: HoldDto) {
    return this.inbound.placeHold(ctx, wh, dto);
  }

  @Post('holds/release')
  @HttpCode(200)
  release(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: ReleaseHoldDto) {
    return this.inbound.releaseHold(ctx, wh, dto);
  }

  @Post('putaways')
  putaway(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: MoveDto) {
    return this.inbound.putaway(ctx, wh, dto);
  }

  @Post('adjustments')
  adjust(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: AdjustDto) {
    return this.inventory.adjust(ctx, wh, dto);
  }

  @Post('moves')
  move(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: MoveDto) {
    return this.inventory.move(ctx, wh, dto);
  }

  @Post('counts')
  count(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: CountDto) {
    return this.inventory.count(ctx, wh, dto);
  }

  @Get('stock')
  stock(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Query() q: StockQuery) {
    return this.inventory.list(ctx.tenantId, wh, q);
  }

  @Post('orders')
  createOrder(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: CreateOrderDto) {
    return this.outbound.createOrder(ctx, wh, dto);
  }

  @Get('orders/:number')
  order(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('number', NumberParam) number: string,
  ) {
    return this.outbound.get(ctx.tenantId, wh, number);
  }

  @Post('orders/:number/allocate')
  @HttpCode(200)
  allocate(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('number', NumberParam) number: string,
  ) {
    return this.outbound.allocate(ctx, wh, number);
  }

  @Post('picks/:taskId')
  @HttpCode(200)
  pick(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('taskId', TaskIdParam) taskId: string,
    @Body() dto: ConfirmPickDto,
  ) {
    return this.outbound.confirmPick(ctx, wh, taskId, dto);
  }

  @Post('orders/:number/pack')
  @HttpCode(200)
  pack(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('number', NumberParam) number: string,
    @Body() dto: PackDto,
  ) {
    return this.outbound.pack(ctx, wh, number, dto);
  }

  @Post('orders/:number/ship')
  @HttpCode(200)
  ship(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('number', NumberParam) number: string,
    @Body() dto: ShipDto,
  ) {
    return this.outbound.ship(ctx, wh, number, dto);
  }

  @Post('orders/:number/cancel')
  @HttpCode(200)
  cancel(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('number', NumberParam) number: string,
    @Body() dto: CancelOrderDto,
  ) {
    return this.outbound.cancel(ctx, wh, number, dto.reason);
  }
}
