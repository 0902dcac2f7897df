import { Body, Controller, UseInterceptors, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Allow } from '../auth/principal.js';
import { type CommandContext, MasterDataService } from '@wms/wms-domain';
import { Ctx } from '../common/request-context.js';
import { TransactionResultInterceptor } from '../common/transaction-result.interceptor.js';
import { PathCode, SkuParam, WarehouseParam } from '../common/params.js';
import {
  BlockLocationDto,
  CreateLocationDto,
  CreatePartnerDto,
  CreateProductDto,
  CreateWarehouseDto,
  CreateZoneDto,
  DiscontinueProductDto,
  UpdateProductDto,
} from './master-data.dto.js';

const LocationParam = new PathCode('code');

@ApiTags('master data')
@ApiBearerAuth()
@UseInterceptors(TransactionResultInterceptor)
@Allow('admin')
@Controller()
export class MasterDataController {
  constructor(private readonly masterData: MasterDataService) {}

  @Post('warehouses')
  createWarehouse(@Ctx() ctx: CommandContext, @Body() dto: CreateWarehouseDto) {
    return this.masterData.createWarehouse(ctx, dto);
  }

  @Post('warehouses/:wh/zones')
  createZone(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: CreateZoneDto) {
    return this.masterData.createZone(ctx, wh, dto);
  }

  @Post('warehouses/:wh/locations')
  createLocation(@Ctx() ctx: CommandContext, @Param('wh', WarehouseParam) wh: string, @Body() dto: CreateLocationDto) {
    return this.masterData.createLocation(ctx, wh, dto);
  }

  @Post('warehouses/:wh/locations/:code/block')
  @Allow('supervisor', 'admin')
  @HttpCode(200)
  block(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('code', LocationParam) code: string,
    @Body() dto: BlockLocationDto,
  ) {
    return this.masterData.setLocationBlocked(ctx, wh, code, dto.reason);
  }

  @Post('warehouses/:wh/locations/:code/unblock')
  @Allow('supervisor', 'admin')
  @HttpCode(200)
  unblock(
    @Ctx() ctx: CommandContext,
    @Param('wh', WarehouseParam) wh: string,
    @Param('code', LocationParam) code: string,
  ) {
    return this.masterData.setLocationBlocked(ctx, wh, code, null);
  }

  @Post('products')
  createProduct(@Ctx() ctx: CommandContext, @Body() dto: CreateProductDto) {
    return this.masterData.createProduct(ctx, dto);
  }

  @Patch('products/:sku')
  updateProduct(@Ctx() ctx: CommandContext, @Param('sku', SkuParam) sku: string, @Body() dto: UpdateProductDto) {
    return this.masterData.updateProduct(ctx, sku, dto);
  }

  @Post('products/:sku/discontinue')
  @HttpCode(200)
  discontinue(@Ctx() ctx: CommandContext, @Param('sku', SkuParam) sku: string, @Body() dto: DiscontinueProductDto) {
    return this.masterData.discontinueProduct(ctx, sku, dto.reason);
  }

  @Post('suppliers')
  createSupplier(@Ctx() ctx: CommandContext, @Body() dto: CreatePartnerDto) {
    return this.masterData.createPartner(ctx, 'supplier', dto);
  }

  @Post('customers')
  createCustomer(@Ctx() ctx: CommandContext, @Body() dto: CreatePartnerDto) {
    return this.masterData.createPartner(ctx, 'customer', dto);
  }

  @Post('carriers')
  createCarrier(@Ctx() ctx: CommandContext, @Body() dto: CreatePartnerDto) {
    return this.masterData.createPartner(ctx, 'carrier', dto);
  }
}
