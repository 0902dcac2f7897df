import { Body, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { CommandContext } from '@wms/wms-domain';
import { WarehouseParam } from '../common/params.js';
import { Ctx } from '../common/request-context.js';
import { ScannerController } from '../common/scanner-controller.js';
import { ScanBatchService } from './scan-batch.service.js';
import { ScanBatchDto } from './scans.dto.js';

@ScannerController('scans')
export class ScansController {
  constructor(private readonly batches: ScanBatchService) {}

  @Post('scans/batch')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Offline scanner sync: up to 500 queued scans, applied in order, each answered on its own',
    description:
      'Each item is answered `applied` (result and event ids), `replayed` (its idempotencyKey was applied before), ' +
      '`refused` (coded reason, fields named like `items[2].body.quantity`) or `skipped` (after a refusal, with ' +
      '`stopOnError`). 400 only when the batch itself is malformed.',
  })
  batch(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: ScanBatchDto) {
    return this.batches.apply(ctx, wh, dto);
  }
}
