import { Injectable } from '@nestjs/common';
import { changedRows, EventService, type EventTransaction, type TransactionResult } from '@wms/events';
import { productByBarcode } from '../common/barcode.js';
import { type CommandContext, conflict, idempotencyFor, invalid, notFound } from '../common/command-context.js';
import { InventoryService, type MoveInput } from '../inventory/inventory.service.js';
import { publishStockThresholds } from '../inventory/stock-alerts.js';
import { StockRepository } from '../inventory/stock.repository.js';

export interface CreateAsnInput {
  asnNumber: string;
  supplierCode: string;
  lines: { barcode: string; quantity: number }[];
}
export interface ReceiveInput {
  barcode: string;
  locationCode: string;
  quantity: number;
  damaged?: number;
  asnNumber?: string;
  lot?: string;
  expiresOn?: string;
}
export interface HoldInput {
  barcode: string;
  locationCode: string;
  lot?: string;
  quantity: number;
  reason: string;
}
export type ReleaseHoldInput = Omit<HoldInput, 'reason'>;

/** Units received that expire within this many days raise inventory.expiring_soon. */
export const EXPIRING_SOON_DAYS = 30;

@Injectable()
export class InboundService {
  constructor(
    private readonly events: EventService,
    private readonly stock: StockRepository,
    private readonly inventory: InventoryService,
  ) {}

  createAsn(
    ctx: CommandContext,
    warehouseId: string,
    input: CreateAsnInput,
  ): Promise<TransactionResult<{ asnNumber: string; lines: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.stock.warehouse(m, ctx.tenantId, warehouseId);
        const [supplier] = await m.query(
          `SELECT 1 FROM partners WHERE tenant_id = $1 AND kind = 'supplier' AND code = $2`,
          [ctx.tenantId, input.supplierCode],
        );
        if (!supplier) throw notFound('SUPPLIER.UNKNOWN', `no supplier ${input.supplierCode}`, 'supplierCode');
        const [existing] = await m.query(
          `SELECT 1 FROM asns WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3`,
          [ctx.tenantId, warehouseId, input.asnNumber],
        );
        if (existing) throw conflict('ASN.EXISTS', `ASN ${input.asnNumber} already exists`, 'asnNumber');
        await m.query(`INSERT INTO asns (tenant_id, warehouse_code, number, supplier_code) VALUES ($1, $2, $3, $4)`, [
          ctx.tenantId,
          warehouseId,
          input.asnNumber,
          input.supplierCode,
        ]);
        const lines = new Map<string, number>();
        for (const [i, line] of input.lines.entries()) {
          const product = await productByBarcode(m, ctx.tenantId, line.barcode, `lines[${i}].barcode`, true);
          lines.set(product.sku, (lines.get(product.sku) ?? 0) + line.quantity);
        }
        for (const [sku, expected] of lines) {
          await m.query(
            `INSERT INTO asn_lines (tenant_id, warehouse_code, asn_number, sku, expected) VALUES ($1, $2, $3, $4, $5)`,
            [ctx.tenantId, warehouseId, input.asnNumber, sku, expected],
          );
        }
        await tx.publish(
          'asn.created',
          {
            warehouseId,
            asnNumber: input.asnNumber,
            supplierCode: input.supplierCode,
            lines: [...lines].map(([sku, quantity]) => ({ sku, quantity })),
          },
          ctx,
        );
        return { asnNumber: input.asnNumber, lines: lines.size };
      },
      idempotencyFor(ctx, 'asn.create', { warehouseId, input }),
    );
  }

  /** A receiving scan: good units go into stock at the dock location, damaged ones are recorded only. */
  receive(
    ctx: CommandContext,
    warehouseId: string,
    input: ReceiveInput,
  ): Promise<TransactionResult<{ sku: string; quantity: number; damaged: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        const damaged = input.damaged ?? 0;
        if (input.quantity + damaged === 0)
          throw invalid('RECEIPT.EMPTY', 'quantity and damaged cannot both be 0', 'quantity');
        await this.stock.warehouse(m, ctx.tenantId, warehouseId);
        const product = await productByBarcode(m, ctx.tenantId, input.barcode, 'barcode', true);
        const location = await this.stock.location(m, ctx.tenantId, warehouseId, input.locationCode, 'locationCode');
        const lot = input.lot ?? '';
        if (input.asnNumber)
          await this.receiveAgainstAsn(tx, ctx, warehouseId, input.asnNumber, product.sku, input.quantity, damaged);
        if (input.quantity > 0) {
          await this.stock.increase(
            m,
            { tenantId: ctx.tenantId, warehouseId, sku: product.sku, locationCode: input.locationCode, lot },
            input.quantity,
            input.expiresOn,
          );
        }
        await tx.publish(
          'goods.received',
          {
            warehouseId,
            asnNumber: input.asnNumber,
            sku: product.sku,
            locationCode: input.locationCode,
            lot,
            expiresOn: input.expiresOn,
            quantity: input.quantity,
            damaged,
          },
          ctx,
        );
        if (location.capacity !== null && input.quantity > 0) {
          const onHand = await this.stock.locationOnHand(m, ctx.tenantId, warehouseId, input.locationCode);
          if (onHand > location.capacity)
            await tx.publish(
              'location.capacity_exceeded',
              { warehouseId, locationCode: input.locationCode, capacity: location.capacity, onHand },
              ctx,
            );
        }
        if (
          input.expiresOn &&
          input.quantity > 0 &&
          Date.parse(input.expiresOn) - Date.now() < EXPIRING_SOON_DAYS * 86_400_000
        ) {
          await tx.publish(
            'inventory.expiring_soon',
            {
              warehouseId,
              sku: product.sku,
              locationCode: input.locationCode,
              lot,
              expiresOn: input.expiresOn,
              quantity: input.quantity,
            },
            ctx,
          );
        }
        return { sku: product.sku, quantity: input.quantity, damaged };
      },
      idempotencyFor(ctx, 'goods.receive', { warehouseId, input }),
    );
  }

  private async receiveAgainstAsn(
    tx: EventTransaction,
    ctx: CommandContext,
    warehouseId: string,
    asnNumber: string,
    sku: string,
    quantity: number,
    damaged: number,
  ) {
    const m = tx.manager;
    const [asn] = await m.query(
      `SELECT status FROM asns WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3 FOR UPDATE`,
      [ctx.tenantId, warehouseId, asnNumber],
    );
    if (!asn) throw notFound('ASN.UNKNOWN', `no ASN ${asnNumber} in warehouse ${warehouseId}`, 'asnNumber');
    if (asn.status !== 'open')
      throw conflict('ASN.CLOSED', `ASN ${asnNumber} is closed; receive without an ASN or reopen it`, 'asnNumber');
    const [line] = await m.query(
      `INSERT INTO asn_lines (tenant_id, warehouse_code, asn_number, sku, expected, received, damaged) VALUES ($1, $2, $3, $4, 0, $5, $6)
       ON CONFLICT (tenant_id, warehouse_code, asn_number, sku) DO UPDATE SET received = asn_lines.received + $5, damaged = asn_lines.damaged + $6
       RETURNING expected, received, damaged`,
      [ctx.tenantId, warehouseId, asnNumber, sku, quantity, damaged],
    );
    const report = (kind: 'over' | 'damaged' | 'unexpected') =>
      tx.publish(
        'receipt.discrepancy_found',
        { warehouseId, asnNumber, sku, kind, expected: line.expected, received: line.received, damaged: line.damaged },
        ctx,
      );
    if (line.expected === 0) await report('unexpected');
    else if (line.received > line.expected && quantity > 0) await report('over');
    if (damaged > 0) await report('damaged');
  }

  closeAsn(
    ctx: CommandContext,
    warehouseId: string,
    asnNumber: string,
  ): Promise<TransactionResult<{ asnNumber: string; shortLines: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        const rows = await changedRows(
          m,
          `UPDATE asns SET status = 'closed' WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3 AND status = 'open' RETURNING number`,
          [ctx.tenantId, warehouseId, asnNumber],
        );
        if (rows.length === 0) {
          const [exists] = await m.query(
            `SELECT 1 FROM asns WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3`,
            [ctx.tenantId, warehouseId, asnNumber],
          );
          throw exists
            ? conflict('ASN.CLOSED', `ASN ${asnNumber} is already closed`, 'asnNumber')
            : notFound('ASN.UNKNOWN', `no ASN ${asnNumber}`, 'asnNumber');
        }
        const short = await m.query(
          `SELECT sku, expected, received, damaged FROM asn_lines WHERE tenant_id = $1 AND warehouse_code = $2 AND asn_number = $3 AND received + damaged < expected ORDER BY sku`,
          [ctx.tenantId, warehouseId, asnNumber],
        );
        for (const l of short)
          await tx.publish(
            'receipt.discrepancy_found',
            {
              warehouseId,
              asnNumber,
              sku: l.sku,
              kind: 'short',
              expected: l.expected,
              received: l.received,
              damaged: l.damaged,
            },
            ctx,
          );
        await tx.publish('asn.closed', { warehouseId, asnNumber }, ctx);
        return { asnNumber, shortLines: short.length };
      },
      idempotencyFor(ctx, 'asn.close', { warehouseId, asnNumber }),
    );
  }

  placeHold(
    ctx: CommandContext,
    warehouseId: string,
    input: HoldInput,
  ): Promise<TransactionResult<{ sku: string; held: number }>> {
    return this.events.transaction(
      async (tx) => {
        const { key, sku } = await this.holdKey(tx, ctx, warehouseId, input);
        const before = await this.stock.available(tx.manager, ctx.tenantId, warehouseId, sku);
        await this.stock.shift(tx.manager, key, input.quantity, 'available', 'held');
        await tx.publish(
          'quality.hold_placed',
          {
            warehouseId,
            sku,
            locationCode: key.locationCode,
            lot: key.lot,
            quantity: input.quantity,
            reason: input.reason,
          },
          ctx,
        );
        await publishStockThresholds(tx, this.stock, ctx, warehouseId, sku, before);
        return { sku, held: input.quantity };
      },
      idempotencyFor(ctx, 'quality.hold', { warehouseId, input }),
    );
  }

  releaseHold(
    ctx: CommandContext,
    warehouseId: string,
    input: ReleaseHoldInput,
  ): Promise<TransactionResult<{ sku: string; released: number }>> {
    return this.events.transaction(
      async (tx) => {
        const { key, sku } = await this.holdKey(tx, ctx, warehouseId, input);
        await this.stock.shift(tx.manager, key, input.quantity, 'held', 'available');
        await tx.publish(
          'quality.hold_released',
          { warehouseId, sku, locationCode: key.locationCode, lot: key.lot, quantity: input.quantity },
          ctx,
        );
        return { sku, released: input.quantity };
      },
      idempotencyFor(ctx, 'quality.release', { warehouseId, input }),
    );
  }

  private async holdKey(tx: EventTransaction, ctx: CommandContext, warehouseId: string, input: ReleaseHoldInput) {
    await this.stock.warehouse(tx.manager, ctx.tenantId, warehouseId);
    const product = await productByBarcode(tx.manager, ctx.tenantId, input.barcode, 'barcode');
    await this.stock.location(tx.manager, ctx.tenantId, warehouseId, input.locationCode, 'locationCode', false);
    return {
      sku: product.sku,
      key: {
        tenantId: ctx.tenantId,
        warehouseId,
        sku: product.sku,
        locationCode: input.locationCode,
        lot: input.lot ?? '',
      },
    };
  }

  /** Puts received units away from a dock to storage. */
  putaway(
    ctx: CommandContext,
    warehouseId: string,
    input: MoveInput,
  ): Promise<TransactionResult<{ sku: string; quantity: number }>> {
    return this.events.transaction(
      (tx) => this.inventory.moveIn(tx, ctx, warehouseId, input, 'putaway.completed'),
      idempotencyFor(ctx, 'putaway', { warehouseId, input }),
    );
  }
}
