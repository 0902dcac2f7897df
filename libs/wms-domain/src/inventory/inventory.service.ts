import { Injectable } from '@nestjs/common';
import { EventService, type EventTransaction, type TransactionResult } from '@wms/events';
import { DataSource } from 'typeorm';
import { productByBarcode } from '../common/barcode.js';
import { type CommandContext, conflict, idempotencyFor } from '../common/command-context.js';
import type { AdjustmentReason } from './inventory.events.js';
import { publishStockThresholds } from './stock-alerts.js';
import { StockRepository } from './stock.repository.js';

export interface AdjustInput {
  barcode: string;
  locationCode: string;
  lot?: string;
  quantityDelta: number;
  reasonCode: AdjustmentReason;
}

export interface MoveInput {
  barcode: string;
  fromLocation: string;
  toLocation: string;
  quantity: number;
  lot?: string;
}

export interface CountInput {
  barcode: string;
  locationCode: string;
  lot?: string;
  counted: number;
}

export interface StockLine {
  sku: string;
  locationCode: string;
  lot: string;
  expiresOn: string | null;
  onHand: number;
  reserved: number;
  held: number;
  available: number;
}

@Injectable()
export class InventoryService {
  constructor(
    private readonly events: EventService,
    private readonly stock: StockRepository,
    private readonly db: DataSource,
  ) {}

  /** Corrects stock at one location by hand (damaged, lost, found…). */
  adjust(
    ctx: CommandContext,
    warehouseId: string,
    input: AdjustInput,
  ): Promise<TransactionResult<{ sku: string; onHand: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.stock.warehouse(m, ctx.tenantId, warehouseId);
        const product = await productByBarcode(m, ctx.tenantId, input.barcode, 'barcode');
        await this.stock.location(m, ctx.tenantId, warehouseId, input.locationCode, 'locationCode');
        const key = {
          tenantId: ctx.tenantId,
          warehouseId,
          sku: product.sku,
          locationCode: input.locationCode,
          lot: input.lot ?? '',
        };
        const before = await this.stock.available(m, ctx.tenantId, warehouseId, product.sku);
        if (input.quantityDelta > 0) await this.stock.increase(m, key, input.quantityDelta);
        else await this.stock.decreaseAvailable(m, key, -input.quantityDelta, 'quantityDelta');
        await tx.publish(
          'inventory.adjusted',
          {
            warehouseId,
            sku: product.sku,
            locationCode: key.locationCode,
            lot: key.lot,
            quantityDelta: input.quantityDelta,
            reasonCode: input.reasonCode,
          },
          ctx,
        );
        await publishStockThresholds(tx, this.stock, ctx, warehouseId, product.sku, before);
        return { sku: product.sku, onHand: (await this.stock.row(m, key))?.on_hand ?? 0 };
      },
      idempotencyFor(ctx, 'inventory.adjust', { warehouseId, input }),
    );
  }

  /** Moves available units between locations (neither blocked; the target must have room). */
  move(
    ctx: CommandContext,
    warehouseId: string,
    input: MoveInput,
  ): Promise<TransactionResult<{ sku: string; quantity: number }>> {
    return this.events.transaction(
      (tx) => this.moveIn(tx, ctx, warehouseId, input, 'inventory.moved'),
      idempotencyFor(ctx, 'inventory.move', { warehouseId, input }),
    );
  }

  /** The move itself, shared with putaway (which only differs in the event it emits). */
  async moveIn(
    tx: EventTransaction,
    ctx: CommandContext,
    warehouseId: string,
    input: MoveInput,
    eventName: 'inventory.moved' | 'putaway.completed',
  ) {
    const m = tx.manager;
    await this.stock.warehouse(m, ctx.tenantId, warehouseId);
    const product = await productByBarcode(m, ctx.tenantId, input.barcode, 'barcode');
    if (input.fromLocation === input.toLocation)
      throw conflict('INVENTORY.SAME_LOCATION', 'from and to are the same location', 'toLocation');
    await this.stock.location(m, ctx.tenantId, warehouseId, input.fromLocation, 'fromLocation');
    const target = await this.stock.location(m, ctx.tenantId, warehouseId, input.toLocation, 'toLocation');
    await this.stock.assertRoom(m, ctx.tenantId, warehouseId, target, input.quantity, 'toLocation');
    const lot = input.lot ?? '';
    const from = { tenantId: ctx.tenantId, warehouseId, sku: product.sku, locationCode: input.fromLocation, lot };
    const [{ expires_on: expiresOn } = { expires_on: null }] = await m.query(
      `SELECT to_char(expires_on, 'YYYY-MM-DD') AS expires_on FROM stock WHERE tenant_id = $1 AND warehouse_code = $2 AND sku = $3 AND location_code = $4 AND lot = $5`,
      [ctx.tenantId, warehouseId, product.sku, input.fromLocation, lot],
    );
    await this.stock.decreaseAvailable(m, from, input.quantity);
    await this.stock.increase(m, { ...from, locationCode: input.toLocation }, input.quantity, expiresOn ?? undefined);
    await tx.publish(
      eventName,
      {
        warehouseId,
        sku: product.sku,
        lot,
        fromLocation: input.fromLocation,
        toLocation: input.toLocation,
        quantity: input.quantity,
      },
      ctx,
    );
    return { sku: product.sku, quantity: input.quantity };
  }

  /** Records a cycle count; a difference sets stock to the count and is reported as a discrepancy. */
  count(
    ctx: CommandContext,
    warehouseId: string,
    input: CountInput,
  ): Promise<TransactionResult<{ sku: string; expected: number; counted: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.stock.warehouse(m, ctx.tenantId, warehouseId);
        const product = await productByBarcode(m, ctx.tenantId, input.barcode, 'barcode');
        await this.stock.location(m, ctx.tenantId, warehouseId, input.locationCode, 'locationCode', false);
        const key = {
          tenantId: ctx.tenantId,
          warehouseId,
          sku: product.sku,
          locationCode: input.locationCode,
          lot: input.lot ?? '',
        };
        const before = await this.stock.available(m, ctx.tenantId, warehouseId, product.sku);
        const row = await this.stock.row(m, key);
        const expected = row?.on_hand ?? 0;
        const committed = (row?.reserved ?? 0) + (row?.held ?? 0);
        if (input.counted < committed) {
          throw conflict(
            'INVENTORY.COUNT_BELOW_COMMITTED',
            `${committed} unit(s) here are reserved or held, more than the ${input.counted} counted; recount or resolve the orders and holds first`,
            'counted',
          );
        }
        const delta = input.counted - expected;
        if (delta > 0) await this.stock.increase(m, key, delta);
        if (delta < 0) await this.stock.decreaseAvailable(m, key, -delta, 'counted');
        const payload = {
          warehouseId,
          sku: product.sku,
          locationCode: key.locationCode,
          lot: key.lot,
          expected,
          counted: input.counted,
        };
        await tx.publish('inventory.counted', payload, ctx);
        if (delta !== 0) await tx.publish('inventory.discrepancy_found', { ...payload, quantityDelta: delta }, ctx);
        await publishStockThresholds(tx, this.stock, ctx, warehouseId, product.sku, before);
        return { sku: product.sku, expected, counted: input.counted };
      },
      idempotencyFor(ctx, 'inventory.count', { warehouseId, input }),
    );
  }

  /** Stock lines of a warehouse, optionally for one SKU or location. */
  async list(
    tenantId: string,
    warehouseId: string,
    filter: { sku?: string; locationCode?: string },
  ): Promise<StockLine[]> {
    const rows = await this.db.query(
      `SELECT sku, location_code, lot, to_char(expires_on, 'YYYY-MM-DD') AS expires_on, on_hand, reserved, held FROM stock
       WHERE tenant_id = $1 AND warehouse_code = $2 AND ($3::text IS NULL OR sku = $3) AND ($4::text IS NULL OR location_code = $4) AND on_hand > 0
       ORDER BY sku, location_code, lot LIMIT 1000`,
      [tenantId, warehouseId, filter.sku ?? null, filter.locationCode ?? null],
    );
    type StockRow = {
      sku: string;
      location_code: string;
      lot: string;
      expires_on: string | null;
      on_hand: number;
      reserved: number;
      held: number;
    };
    return rows.map((r: StockRow) => ({
      sku: r.sku,
      locationCode: r.location_code,
      lot: r.lot,
      expiresOn: r.expires_on,
      onHand: r.on_hand,
      reserved: r.reserved,
      held: r.held,
      available: r.on_hand - r.reserved - r.held,
    }));
  }
}
