import { Injectable } from '@nestjs/common';
import { changedRows, EventService, type TransactionResult } from '@wms/events';
import type { EntityManager } from 'typeorm';
import { assertGtin } from '../common/barcode.js';
import {
  type CommandContext,
  conflict,
  idempotencyFor,
  isUniqueViolation,
  notFound,
} from '../common/command-context.js';
import { StockRepository } from '../inventory/stock.repository.js';
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

/** Runs an insert, answering a duplicate key with a 409 naming the field. */
async function insertOnce(
  m: EntityManager,
  sql: string,
  params: unknown[],
  code: string,
  reason: string,
  field: string,
): Promise<void> {
  try {
    await m.query('SAVEPOINT insert_once');
    await m.query(sql, params);
    await m.query('RELEASE SAVEPOINT insert_once');
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await m.query('ROLLBACK TO SAVEPOINT insert_once');
    throw conflict(code, reason, field);
  }
}

@Injectable()
export class MasterDataService {
  constructor(
    private readonly events: EventService,
    private readonly stock: StockRepository,
  ) {}

  createWarehouse(ctx: CommandContext, input: CreateWarehouseInput): Promise<TransactionResult<CreateWarehouseInput>> {
    return this.events.transaction(
      async (tx) => {
        const timeZone = input.timeZone ?? 'UTC';
        await insertOnce(
          tx.manager,
          `INSERT INTO warehouses (tenant_id, code, name, time_zone) VALUES ($1, $2, $3, $4)`,
          [ctx.tenantId, input.code, input.name, timeZone],
          'WAREHOUSE.EXISTS',
          `warehouse ${input.code} already exists`,
          'code',
        );
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
        await this.stock.warehouse(tx.manager, ctx.tenantId, warehouseId);
        await insertOnce(
          tx.manager,
          `INSERT INTO zones (tenant_id, warehouse_code, code, name) VALUES ($1, $2, $3, $4)`,
          [ctx.tenantId, warehouseId, input.code, input.name],
          'ZONE.EXISTS',
          `zone ${input.code} already exists`,
          'code',
        );
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
        await this.stock.warehouse(m, ctx.tenantId, warehouseId);
        const [zone] = await m.query(`SELECT 1 FROM zones WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3`, [
          ctx.tenantId,
          warehouseId,
          input.zoneCode,
        ]);
        if (!zone) throw notFound('ZONE.UNKNOWN', `no zone ${input.zoneCode} in warehouse ${warehouseId}`, 'zoneCode');
        await insertOnce(
          m,
          `INSERT INTO locations (tenant_id, warehouse_code, code, zone_code, capacity) VALUES ($1, $2, $3, $4, $5)`,
          [ctx.tenantId, warehouseId, input.code, input.zoneCode, input.capacity ?? null],
          'LOCATION.EXISTS',
          `location ${input.code} already exists`,
          'code',
        );
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
        const location = await this.stock.location(tx.manager, ctx.tenantId, warehouseId, code, 'code', false);
        const blocked = reason !== null;
        if (location.blocked === blocked)
          throw conflict(
            blocked ? 'LOCATION.ALREADY_BLOCKED' : 'LOCATION.NOT_BLOCKED',
            `location ${code} is ${blocked ? 'already' : 'not'} blocked`,
            'code',
          );
        await tx.manager.query(
          `UPDATE locations SET blocked = $4, blocked_reason = $5 WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3`,
          [ctx.tenantId, warehouseId, code, blocked, reason],
        );
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
        const [taken] = await tx.manager.query(`SELECT sku FROM products WHERE tenant_id = $1 AND gtin = $2`, [
          ctx.tenantId,
          input.gtin,
        ]);
        if (taken) throw conflict('PRODUCT.GTIN_TAKEN', `GTIN ${input.gtin} already belongs to ${taken.sku}`, 'gtin');
        await insertOnce(
          tx.manager,
          `INSERT INTO products (tenant_id, sku, gtin, name, unit_of_measure, reorder_point, max_level) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            ctx.tenantId,
            input.sku,
            input.gtin,
            input.name,
            input.unitOfMeasure,
            product.reorderPoint,
            input.maxLevel ?? null,
          ],
          'PRODUCT.EXISTS',
          `product ${input.sku} already exists`,
          'sku',
        );
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
  ): Promise<TransactionResult<UpdateProductInput & { sku: string }>> {
    return this.events.transaction(
      async (tx) => {
        const rows = await changedRows(
          tx.manager,
          `UPDATE products SET name = coalesce($3, name), reorder_point = coalesce($4, reorder_point), max_level = coalesce($5, max_level)
         WHERE tenant_id = $1 AND sku = $2 RETURNING sku`,
          [ctx.tenantId, sku, input.name ?? null, input.reorderPoint ?? null, input.maxLevel ?? null],
        );
        if (rows.length === 0) throw notFound('PRODUCT.UNKNOWN', `no product ${sku}`, 'sku');
        await tx.publish('product.updated', { sku, ...input }, ctx);
        return { sku, ...input };
      },
      idempotencyFor(ctx, 'product.update', { sku, input }),
    );
  }

  discontinueProduct(ctx: CommandContext, sku: string, reason?: string): Promise<TransactionResult<{ sku: string }>> {
    return this.events.transaction(
      async (tx) => {
        const rows = await changedRows(
          tx.manager,
          `UPDATE products SET discontinued_at = now() WHERE tenant_id = $1 AND sku = $2 AND discontinued_at IS NULL RETURNING sku`,
          [ctx.tenantId, sku],
        );
        if (rows.length === 0) {
          const [exists] = await tx.manager.query(`SELECT 1 FROM products WHERE tenant_id = $1 AND sku = $2`, [
            ctx.tenantId,
            sku,
          ]);
          throw exists
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
        await insertOnce(
          tx.manager,
          `INSERT INTO partners (tenant_id, kind, code, name) VALUES ($1, $2, $3, $4)`,
          [ctx.tenantId, kind, input.code, input.name],
          `${kind.toUpperCase()}.EXISTS`,
          `${kind} ${input.code} already exists`,
          'code',
        );
        await tx.publish(`${kind}.created`, input, ctx);
        return input;
      },
      idempotencyFor(ctx, `${kind}.create`, input),
    );
  }
}
