import { Body, HttpCode, Param, Post } from '@nestjs/common';
import { type CommandContext, InboundService } from '@wms/wms-domain';
import { NumberParam, WarehouseParam } from '../common/params.js';
import { Ctx } from '../common/request-context.js';
import { ScannerController } from '../common/scanner-controller.js';
import { MoveDto } from '../inventory/inventory.dto.js';
import { CreateAsnDto, HoldDto, ReceiveDto, ReleaseHoldDto } from './inbound.dto.js';

@ScannerController('inbound')
export class InboundController {
  constructor(private readonly inbound: InboundService) {}

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
}
