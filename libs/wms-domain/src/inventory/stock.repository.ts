import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { conflict, notFound } from '../common/command-context.js';
import { changedRows } from '@wms/events';

export interface StockKey {
  tenantId: string;
  warehouseId: string;
  sku: string;
  locationCode: string;
  lot: string;
}

export interface LocationRow {
  code: string;
  capacity: number | null;
  blocked: boolean;
}

const KEY = `tenant_id = $1 AND warehouse_code = $2 AND sku = $3 AND location_code = $4 AND lot = $5`;
const keyParams = (k: StockKey) => [k.tenantId, k.warehouseId, k.sku, k.locationCode, k.lot];

/** Stock rows per (SKU, location, lot); every change is one conditional statement, so racing scanners never drive it negative. */
@Injectable()
export class StockRepository {
  async warehouse(m: EntityManager, tenantId: string, warehouseId: string): Promise<void> {
    const [row] = await m.query(`SELECT 1 FROM warehouses WHERE tenant_id = $1 AND code = $2`, [tenantId, warehouseId]);
    if (!row) throw notFound('WAREHOUSE.UNKNOWN', `no warehouse ${warehouseId}`, 'warehouseId');
  }

  async location(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    code: string,
    field: string,
    usable = true,
  ): Promise<LocationRow> {
    const [row] = await m.query(
      `SELECT code, capacity, blocked FROM locations WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3`,
      [tenantId, warehouseId, code],
    );
    if (!row)
      throw notFound(
        'LOCATION.UNKNOWN',
        `no location ${code} in warehouse ${warehouseId}; scan the location label again`,
        field,
      );
    if (usable && row.blocked)
      throw conflict('LOCATION.BLOCKED', `location ${code} is blocked; ask a supervisor to unblock it`, field);
    return row;
  }

  /** Units on hand in a location, all SKUs. */
  async locationOnHand(m: EntityManager, tenantId: string, warehouseId: string, code: string): Promise<number> {
    const [row] = await m.query(
      `SELECT coalesce(sum(on_hand), 0)::int AS n FROM stock WHERE tenant_id = $1 AND warehouse_code = $2 AND location_code = $3`,
      [tenantId, warehouseId, code],
    );
    return row.n;
  }

  /** Refuses a move that would put a location over its capacity. */
  async assertRoom(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    location: LocationRow,
    quantity: number,
    field: string,
  ): Promise<void> {
    if (location.capacity === null) return;
    // Held until commit: two moves into one location check its room one after the other.
    await m.query(`SELECT 1 FROM locations WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3 FOR UPDATE`, [
      tenantId,
      warehouseId,
      location.code,
    ]);
    const onHand = await this.locationOnHand(m, tenantId, warehouseId, location.code);
    if (onHand + quantity > location.capacity) {
      throw conflict(
        'LOCATION.CAPACITY_EXCEEDED',
        `location ${location.code} holds ${onHand} of ${location.capacity} units; ${quantity} more do not fit`,
        field,
      );
    }
  }

  /** Units of a SKU in a warehouse that are neither reserved nor held. */
  async available(m: EntityManager, tenantId: string, warehouseId: string, sku: string): Promise<number> {
    const [row] = await m.query(
      `SELECT coalesce(sum(on_hand - reserved - held), 0)::int AS n FROM stock WHERE tenant_id = $1 AND warehouse_code = $2 AND sku = $3`,
      [tenantId, warehouseId, sku],
    );
    return row.n;
  }

  async row(m: EntityManager, k: StockKey): Promise<{ on_hand: number; reserved: number; held: number } | undefined> {
    const [row] = await m.query(`SELECT on_hand, reserved, held FROM stock WHERE ${KEY} FOR UPDATE`, keyParams(k));
    return row;
  }

  async increase(m: EntityManager, k: StockKey, quantity: number, expiresOn?: string): Promise<void> {
    await m.query(
      `INSERT INTO stock (tenant_id, warehouse_code, sku, location_code, lot, expires_on, on_hand) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, warehouse_code, sku, location_code, lot) DO UPDATE SET on_hand = stock.on_hand + EXCLUDED.on_hand,
         expires_on = coalesce(stock.expires_on, EXCLUDED.expires_on)`,
      [...keyParams(k), expiresOn ?? null, quantity],
    );
  }

  /** Takes available (not reserved, not held) units out; INVENTORY.INSUFFICIENT_STOCK when there are not enough. */
  async decreaseAvailable(m: EntityManager, k: StockKey, quantity: number, field = 'quantity'): Promise<void> {
    const rows = await changedRows(
      m,
      `UPDATE stock SET on_hand = on_hand - $6 WHERE ${KEY} AND on_hand - reserved - held >= $6 RETURNING on_hand`,
      [...keyParams(k), quantity],
    );
    if (rows.length === 0) throw await this.insufficient(m, k, quantity, field);
  }

  /** Moves `quantity` between the available, reserved and held buckets of one row, checking what the source bucket has. */
  async shift(
    m: EntityManager,
    k: StockKey,
    quantity: number,
    from: 'available' | 'reserved' | 'held',
    to: 'available' | 'reserved' | 'held',
    field = 'quantity',
  ): Promise<void> {
    const has = { available: 'on_hand - reserved - held', reserved: 'reserved', held: 'held' }[from];
    const sets = [from, to].filter((b) => b !== 'available').map((b) => `${b} = ${b} ${b === from ? '-' : '+'} $6`);
    const rows = await changedRows(
      m,
      `UPDATE stock SET ${sets.join(', ')} WHERE ${KEY} AND ${has} >= $6 RETURNING on_hand`,
      [...keyParams(k), quantity],
    );
    if (rows.length === 0) throw await this.insufficient(m, k, quantity, field, from);
  }

  private async insufficient(
    m: EntityManager,
    k: StockKey,
    quantity: number,
    field: string,
    bucket: 'available' | 'reserved' | 'held' = 'available',
  ) {
    const row = await this.row(m, k);
    const has = !row ? 0 : bucket === 'available' ? row.on_hand - row.reserved - row.held : row[bucket];
    return conflict(
      'INVENTORY.INSUFFICIENT_STOCK',
      `only ${has} ${bucket} unit(s) of ${k.sku}${k.lot ? ` lot ${k.lot}` : ''} at ${k.locationCode}; ${quantity} requested`,
      field,
    );
  }
}
