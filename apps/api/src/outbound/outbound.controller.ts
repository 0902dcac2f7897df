import { Body, Get, HttpCode, Param, Post } from '@nestjs/common';
import { type CommandContext, OutboundService } from '@wms/wms-domain';
import { NumberParam, TaskIdParam, WarehouseParam } from '../common/params.js';
import { Ctx } from '../common/request-context.js';
import { ScannerController } from '../common/scanner-controller.js';
import { CancelOrderDto, ConfirmPickDto, CreateOrderDto, PackDto, ShipDto } from './outbound.dto.js';

@ScannerController('outbound')
export class OutboundController {
  constructor(private readonly outbound: OutboundService) {}

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
