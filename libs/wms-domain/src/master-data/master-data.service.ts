import { Injectable } from '@nestjs/common';
import { EventService, type TransactionResult } from '@wms/events';
import { assertGtin } from '../common/barcode.js';
import { type CommandContext, conflict, idempotencyFor, invalid, notFound } from '../common/command-context.js';
import { MasterDataRepository } from './master-data.repository.js';
import type { PartnerKind, UnitOfMeasure } from './master-data.events.js';

export interface CreateWarehouseInput {
  code: string;
  name: string;
  timeZone?: string;
}
export interface CreateZoneInput {
  code: string;
  name: string;
}
export interface CreateLocationInput {
  code: string;
  zoneCode: string;
  capacity?: number;
}
export interface CreateProductInput {
  sku: string;
  gtin: string;
  name: string;
  unitOfMeasure: UnitOfMeasure;
  reorderPoint?: number;
  maxLevel?: number;
}
export interface UpdateProductInput {
  name?: string;
  reorderPoint?: number;
  maxLevel?: number;
}
export interface CreatePartnerInput {
  code: string;
  name: string;
}

@Injectable()
export class MasterDataService {
  constructor(
    private readonly events: EventService,
    private readonly masterData: MasterDataRepository,
  ) {}

  createWarehouse(ctx: CommandContext, input: CreateWarehouseInput): Promise<TransactionResult<CreateWarehouseInput>> {
    return this.events.transaction(
      async (tx) => {
        const timeZone = input.timeZone ?? 'UTC';
        if (!(await this.masterData.insertWarehouse(tx.manager, ctx.tenantId, { ...input, timeZone })))
          throw conflict('WAREHOUSE.EXISTS', `warehouse ${input.code} already exists`, 'code');
        await tx.publish('warehouse.created', { warehouseId: input.code, name: input.name, timeZone }, ctx);
        return { ...input, timeZone };
      },
      idempotencyFor(ctx, 'warehouse.create', input),
    );
  }

  createZone(
    ctx: CommandContext,
    warehouseId: string,
    input: CreateZoneInput,
  ): Promise<TransactionResult<CreateZoneInput>> {
    return this.events.transaction(
      async (tx) => {
        await this.masterData.warehouse(tx.manager, ctx.tenantId, warehouseId);
        if (!(await this.masterData.insertZone(tx.manager, ctx.tenantId, warehouseId, input)))
          throw conflict('ZONE.EXISTS', `zone ${input.code} already exists`, 'code');
        await tx.publish('zone.created', { warehouseId, zoneCode: input.code, name: input.name }, ctx);
        return input;
      },
      idempotencyFor(ctx, 'zone.create', { warehouseId, input }),
    );
  }

  createLocation(
    ctx: CommandContext,
    warehouseId: string,
    input: CreateLocationInput,
  ): Promise<TransactionResult<CreateLocationInput>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.masterData.warehouse(m, ctx.tenantId, warehouseId);
        if (!(await this.masterData.zoneExists(m, ctx.tenantId, warehouseId, input.zoneCode)))
          throw notFound('ZONE.UNKNOWN', `no zone ${input.zoneCode} in warehouse ${warehouseId}`, 'zoneCode');
        if (!(await this.masterData.insertLocation(m, ctx.tenantId, warehouseId, input)))
          throw conflict('LOCATION.EXISTS', `location ${input.code} already exists`, 'code');
        await tx.publish(
          'location.created',
          { warehouseId, locationCode: input.code, zoneCode: input.zoneCode, capacity: input.capacity },
          ctx,
        );
        return input;
      },
      idempotencyFor(ctx, 'location.create', { warehouseId, input }),
    );
  }

  setLocationBlocked(
    ctx: CommandContext,
    warehouseId: string,
    code: string,
    reason: string | null,
  ): Promise<TransactionResult<{ code: string; blocked: boolean }>> {
    return this.events.transaction(
      async (tx) => {
        const location = await this.masterData.location(tx.manager, ctx.tenantId, warehouseId, code, 'code', false);
        const blocked = reason !== null;
        if (location.blocked === blocked)
          throw conflict(
            blocked ? 'LOCATION.ALREADY_BLOCKED' : 'LOCATION.NOT_BLOCKED',
            `location ${code} is ${blocked ? 'already' : 'not'} blocked`,
            'code',
          );
        await this.masterData.setLocationBlocked(tx.manager, ctx.tenantId, warehouseId, code, reason);
        if (blocked) await tx.publish('location.blocked', { warehouseId, locationCode: code, reason }, ctx);
        else await tx.publish('location.unblocked', { warehouseId, locationCode: code }, ctx);
        return { code, blocked };
      },
      idempotencyFor(ctx, 'location.block', { warehouseId, code, reason }),
    );
  }

  createProduct(ctx: CommandContext, input: CreateProductInput): Promise<TransactionResult<CreateProductInput>> {
    return this.events.transaction(
      async (tx) => {
        assertGtin(input.gtin, 'gtin');
        const product = { ...input, reorderPoint: input.reorderPoint ?? 0 };
        if (product.maxLevel !== undefined && product.maxLevel < product.reorderPoint) {
          throw invalid('PRODUCT.LEVELS', 'maxLevel must not be below reorderPoint', 'maxLevel');
        }
        const taken = await this.masterData.skuWithGtin(tx.manager, ctx.tenantId, input.gtin);
        if (taken) throw conflict('PRODUCT.GTIN_TAKEN', `GTIN ${input.gtin} already belongs to ${taken}`, 'gtin');
        if (!(await this.masterData.insertProduct(tx.manager, ctx.tenantId, product)))
          throw conflict('PRODUCT.EXISTS', `product ${input.sku} already exists`, 'sku');
        await tx.publish('product.created', product, ctx);
        return product;
      },
      idempotencyFor(ctx, 'product.create', input),
    );
  }

  updateProduct(
    ctx: CommandContext,
    sku: string,
    input: UpdateProductInput,
  ): Promise<TransactionResult<{ sku: string; name: string; reorderPoint: number; maxLevel: number | null }>> {
    return this.events.transaction(
      async (tx) => {
        const product = await this.masterData.updateProduct(tx.manager, ctx.tenantId, sku, input);
        if (!product) throw notFound('PRODUCT.UNKNOWN', `no product ${sku}`, 'sku');
        if (product.maxLevel !== null && product.maxLevel < product.reorderPoint) {
          throw invalid('PRODUCT.LEVELS', 'maxLevel must not be below reorderPoint', 'maxLevel');
        }
        // Nothing to change is no change: the product as it is, and no event.
        if (Object.values(input).some((v) => v !== undefined))
          await tx.publish('product.updated', { sku, ...input }, ctx);
        return product;
      },
      idempotencyFor(ctx, 'product.update', { sku, input }),
    );
  }

  discontinueProduct(ctx: CommandContext, sku: string, reason?: string): Promise<TransactionResult<{ sku: string }>> {
    return this.events.transaction(
      async (tx) => {
        if (!(await this.masterData.discontinueProduct(tx.manager, ctx.tenantId, sku))) {
          throw (await this.masterData.productExists(tx.manager, ctx.tenantId, sku))
            ? conflict('PRODUCT.DISCONTINUED', `product ${sku} is already discontinued`, 'sku')
            : notFound('PRODUCT.UNKNOWN', `no product ${sku}`, 'sku');
        }
        await tx.publish('product.discontinued', { sku, reason }, ctx);
        return { sku };
      },
      idempotencyFor(ctx, 'product.discontinue', { sku, reason }),
    );
  }

  createPartner(
    ctx: CommandContext,
    kind: PartnerKind,
    input: CreatePartnerInput,
  ): Promise<TransactionResult<CreatePartnerInput>> {
    return this.events.transaction(
      async (tx) => {
        if (!(await this.masterData.insertPartner(tx.manager, ctx.tenantId, kind, input)))
          throw conflict(`${kind.toUpperCase()}.EXISTS`, `${kind} ${input.code} already exists`, 'code');
        await tx.publish(`${kind}.created`, input, ctx);
        return input;
      },
      idempotencyFor(ctx, `${kind}.create`, input),
    );
  }
}
