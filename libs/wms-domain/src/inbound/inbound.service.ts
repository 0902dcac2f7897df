import { Injectable } from '@nestjs/common';
import { EventService, type EventTransaction, type TransactionResult } from '@wms/events';
import { type CommandContext, conflict, idempotencyFor, invalid, notFound } from '../common/command-context.js';
import { ScanService } from '../common/scan.service.js';
import { InventoryService, type MoveInput } from '../inventory/inventory.service.js';
import { StockThresholdsService } from '../inventory/stock-thresholds.service.js';
import { StockRepository } from '../inventory/stock.repository.js';
import { MasterDataRepository } from '../master-data/master-data.repository.js';
import { type AsnRef, AsnsRepository } from './asns.repository.js';

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
    private readonly asns: AsnsRepository,
    private readonly masterData: MasterDataRepository,
    private readonly scans: ScanService,
    private readonly thresholds: StockThresholdsService,
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
        const asn = { tenantId: ctx.tenantId, warehouseId, asnNumber: input.asnNumber };
        await this.masterData.warehouse(m, ctx.tenantId, warehouseId);
        if (!(await this.masterData.partnerExists(m, ctx.tenantId, 'supplier', input.supplierCode)))
          throw notFound('SUPPLIER.UNKNOWN', `no supplier ${input.supplierCode}`, 'supplierCode');
        if (await this.asns.exists(m, asn))
          throw conflict('ASN.EXISTS', `ASN ${input.asnNumber} already exists`, 'asnNumber');
        await this.asns.create(m, asn, input.supplierCode);
        const lines = new Map<string, number>();
        for (const [i, line] of input.lines.entries()) {
          const product = await this.masterData.productByBarcode(
            m,
            ctx.tenantId,
            line.barcode,
            `lines[${i}].barcode`,
            true,
          );
          lines.set(product.sku, (lines.get(product.sku) ?? 0) + line.quantity);
        }
        await this.asns.addLines(m, asn, lines);
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
        const { product, location, key } = await this.scans.stockAt(m, ctx.tenantId, warehouseId, input, {
          activeOnly: true,
        });
        const lot = key.lot;
        if (input.asnNumber) {
          const asn = { tenantId: ctx.tenantId, warehouseId, asnNumber: input.asnNumber };
          await this.receiveAgainstAsn(tx, ctx, asn, product.sku, input.quantity, damaged);
        }
        if (input.quantity > 0) await this.stock.increase(m, key, input.quantity, input.expiresOn);
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
    asn: AsnRef,
    sku: string,
    quantity: number,
    damaged: number,
  ) {
    const { warehouseId, asnNumber } = asn;
    const status = await this.asns.lockStatus(tx.manager, asn);
    if (!status) throw notFound('ASN.UNKNOWN', `no ASN ${asnNumber} in warehouse ${warehouseId}`, 'asnNumber');
    if (status !== 'open')
      throw conflict('ASN.CLOSED', `ASN ${asnNumber} is closed; receive without an ASN or reopen it`, 'asnNumber');
    const line = await this.asns.addReceipt(tx.manager, asn, sku, quantity, damaged);
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
        const asn = { tenantId: ctx.tenantId, warehouseId, asnNumber };
        if (!(await this.asns.close(m, asn))) {
          throw (await this.asns.exists(m, asn))
            ? conflict('ASN.CLOSED', `ASN ${asnNumber} is already closed`, 'asnNumber')
            : notFound('ASN.UNKNOWN', `no ASN ${asnNumber}`, 'asnNumber');
        }
        const short = await this.asns.shortLines(m, asn);
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
        const { key } = await this.scans.stockAt(tx.manager, ctx.tenantId, warehouseId, input, { usable: false });
        const sku = key.sku;
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
        await this.thresholds.publishCrossings(tx, ctx, warehouseId, sku, before);
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
        const { key } = await this.scans.stockAt(tx.manager, ctx.tenantId, warehouseId, input, { usable: false });
        const sku = key.sku;
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
