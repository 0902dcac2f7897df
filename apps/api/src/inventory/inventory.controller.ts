import { Body, Get, Param, Post, Query } from '@nestjs/common';
import { type CommandContext, InventoryService } from '@wms/wms-domain';
import { WarehouseParam } from '../common/params.js';
import { Ctx } from '../common/request-context.js';
import { ScannerController } from '../common/scanner-controller.js';
import { AdjustDto, CountDto, MoveDto, StockQuery } from './inventory.dto.js';

@ScannerController('inventory')
export class InventoryController {
  constructor(private readonly inventory: InventoryService) {}

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
}
