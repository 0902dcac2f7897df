import { Injectable } from '@nestjs/common';
import { EventService, type EventTransaction, StatementCommands, type TransactionResult } from '@wms/events';
import { DataSource, type EntityManager } from 'typeorm';
import { type CommandContext, conflict, idempotencyFor } from '../common/command-context.js';
import { ScanService } from '../common/scan.service.js';
import {
  locationBlocked,
  type LocationRow,
  MasterDataRepository,
  unknownLocation,
} from '../master-data/master-data.repository.js';
import type { AdjustmentReason } from './inventory.events.js';
import { StockThresholdsService } from './stock-thresholds.service.js';
import { type AdjustmentOutcome, insufficientStock, StockRepository } from './stock.repository.js';

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
    private readonly db: DataSource,
    private readonly events: EventService,
    private readonly statements: StatementCommands,
    private readonly stock: StockRepository,
    private readonly masterData: MasterDataRepository,
    private readonly scans: ScanService,
    private readonly thresholds: StockThresholdsService,
  ) {}

  /**
   * Corrects stock at one location by hand (damaged, lost, found…), in one statement (StatementCommands): the
   * warehouse and the product come from the caches, the location is checked where the stock is written.
   */
  async adjust(
    ctx: CommandContext,
    warehouseId: string,
    input: AdjustInput,
  ): Promise<TransactionResult<{ sku: string; onHand: number }>> {
    const m = this.db.manager;
    await this.masterData.warehouse(m, ctx.tenantId, warehouseId);
    const product = await this.masterData.productByBarcode(m, ctx.tenantId, input.barcode, 'barcode');
    const key = {
      tenantId: ctx.tenantId,
      warehouseId,
      sku: product.sku,
      locationCode: input.locationCode,
      lot: input.lot ?? '',
    };
    // A location this process saw blocked is refused without a query; unblocking it reaches every process on commit.
    if (this.masterData.cachedLocation(ctx.tenantId, warehouseId, key.locationCode)?.blocked)
      throw locationBlocked(key.locationCode, 'locationCode');
    const generation = this.masterData.cacheGeneration();
    const where = { warehouseId, sku: product.sku };
    return this.statements.run(
      ctx,
      this.stock.adjustment(key, input.quantityDelta),
      [
        {
          name: 'inventory.adjusted',
          payload: {
            ...where,
            locationCode: key.locationCode,
            lot: key.lot,
            quantityDelta: input.quantityDelta,
            reasonCode: input.reasonCode,
          },
        },
        ...this.thresholds.crossings(where),
      ],
      idempotencyFor(ctx, 'inventory.adjust', { warehouseId, input }),
      (o: AdjustmentOutcome) => {
        if (o.location) this.masterData.rememberLocation(ctx.tenantId, warehouseId, o.location, generation);
        if (!o.location) throw unknownLocation(key.locationCode, warehouseId, 'locationCode');
        if (o.location.blocked) throw locationBlocked(key.locationCode, 'locationCode');
        if (!o.applied) throw insufficientStock(key, o.has, -input.quantityDelta, 'quantityDelta');
        return { sku: product.sku, onHand: o.on_hand ?? 0 };
      },
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
    await this.masterData.warehouse(m, ctx.tenantId, warehouseId);
    const product = await this.masterData.productByBarcode(m, ctx.tenantId, input.barcode, 'barcode');
    if (input.fromLocation === input.toLocation)
      throw conflict('INVENTORY.SAME_LOCATION', 'from and to are the same location', 'toLocation');
    await this.masterData.location(m, ctx.tenantId, warehouseId, input.fromLocation, 'fromLocation');
    const target = await this.masterData.location(m, ctx.tenantId, warehouseId, input.toLocation, 'toLocation');
    await this.assertRoom(m, ctx.tenantId, warehouseId, target, input.quantity);
    const lot = input.lot ?? '';
    const from = { tenantId: ctx.tenantId, warehouseId, sku: product.sku, locationCode: input.fromLocation, lot };
    const expiresOn = await this.stock.expiresOn(m, from);
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
        const { product, key } = await this.scans.stockAt(m, ctx.tenantId, warehouseId, input, { usable: false });
        const before = await this.stock.available(m, ctx.tenantId, warehouseId, product.sku);
        const row = await this.stock.row(m, key);
        const expected = row?.on_hand ?? 0;
        const committed = (row?.reserved ?? 0) + (row?.held ?? 0);
        if (input.counted < committed) {
          throw conflict(
            'INVENTORY.COUNT_BELOW_COMMITTED',
            `${committed} unit(s) here are reserved or held, more than the ${input.counted} counted; ` +
              'recount or resolve the orders and holds first',
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
        await this.thresholds.publishCrossings(tx, ctx, warehouseId, product.sku, before);
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
    const rows = await this.stock.lines(tenantId, warehouseId, filter);
    return rows.map((r) => ({
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

  /** Refuses a move that would put a location over its capacity. */
  private async assertRoom(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    location: LocationRow,
    quantity: number,
  ): Promise<void> {
    if (location.capacity === null) return;
    await this.masterData.lockLocation(m, tenantId, warehouseId, location.code);
    const onHand = await this.stock.locationOnHand(m, tenantId, warehouseId, location.code);
    if (onHand + quantity > location.capacity) {
      throw conflict(
        'LOCATION.CAPACITY_EXCEEDED',
        `location ${location.code} holds ${onHand} of ${location.capacity} units; ${quantity} more do not fit`,
        'toLocation',
      );
    }
  }
}
