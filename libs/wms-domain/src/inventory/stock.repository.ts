import { Injectable } from '@nestjs/common';
import { changedRows, CLAIMABLE, declareExempt, type StatementChange } from '@wms/events';
import { DataSource, type EntityManager } from 'typeorm';
import { conflict } from '../common/command-context.js';

export interface StockKey {
  tenantId: string;
  warehouseId: string;
  sku: string;
  locationCode: string;
  lot: string;
}

export interface StockRow {
  sku: string;
  location_code: string;
  lot: string;
  /** YYYY-MM-DD */
  expires_on: string | null;
  on_hand: number;
  reserved: number;
  held: number;
}

/** What an adjustment's statement tells of its outcome (StockRepository.adjustment). */
export interface AdjustmentOutcome {
  applied: boolean;
  /** The location as read at write time: null when there is none. */
  location: { code: string; capacity: number | null; blocked: boolean } | null;
  /** Units on hand in the row after the change (when applied). */
  on_hand: number | null;
  /** Available units in the row (for the refusal of a change that was not applied). */
  has: number;
  /** The SKU's available units in the warehouse before and after the change, and its reorder point. */
  before: number;
  after: number;
  reorder_point: number;
}

/** A row that still has units to reserve, in allocation order. */
export interface AllocatableRow {
  location_code: string;
  lot: string;
  available: number;
}

const KEY = `tenant_id = $1 AND warehouse_code = $2 AND sku = $3 AND location_code = $4 AND lot = $5`;
const keyParams = (k: StockKey) => [k.tenantId, k.warehouseId, k.sku, k.locationCode, k.lot];

export const insufficientStock = (
  k: StockKey,
  has: number,
  quantity: number,
  field: string,
  bucket: 'available' | 'reserved' | 'held' = 'available',
) =>
  conflict(
    'INVENTORY.INSUFFICIENT_STOCK',
    `only ${has} ${bucket} unit(s) of ${k.sku}${k.lot ? ` lot ${k.lot}` : ''} at ${k.locationCode}; ${quantity} requested`,
    field,
  );

declareExempt('stock', 'what is on the shelves now: state, not history');

/**
 * Owns the table `stock`: rows per (SKU, location, lot). Every change is one conditional statement, so racing
 * scanners never drive it negative.
 */
@Injectable()
export class StockRepository {
  constructor(private readonly db: DataSource) {}

  /** Units on hand in a location, all SKUs. */
  async locationOnHand(m: EntityManager, tenantId: string, warehouseId: string, code: string): Promise<number> {
    const [row] = await m.query(
      `SELECT coalesce(sum(on_hand), 0)::int AS n
       FROM stock
       WHERE tenant_id = $1 AND warehouse_code = $2 AND location_code = $3`,
      [tenantId, warehouseId, code],
    );
    return row.n;
  }

  /** Units of a SKU in a warehouse that are neither reserved nor held. */
  async available(m: EntityManager, tenantId: string, warehouseId: string, sku: string): Promise<number> {
    const [row] = await m.query(
      `SELECT coalesce(sum(on_hand - reserved - held), 0)::int AS n
       FROM stock
       WHERE tenant_id = $1 AND warehouse_code = $2 AND sku = $3`,
      [tenantId, warehouseId, sku],
    );
    return row.n;
  }

  /** The row, locked until commit. */
  async row(m: EntityManager, k: StockKey): Promise<{ on_hand: number; reserved: number; held: number } | undefined> {
    const [row] = await m.query(
      `SELECT on_hand, reserved, held
       FROM stock
       WHERE ${KEY}
       FOR UPDATE`,
      keyParams(k),
    );
    return row;
  }

  /** The row's expiry date (YYYY-MM-DD), which units moved out of it carry along. */
  async expiresOn(m: EntityManager, k: StockKey): Promise<string | null> {
    const [row] = await m.query(
      `SELECT to_char(expires_on, 'YYYY-MM-DD') AS expires_on
       FROM stock
       WHERE ${KEY}`,
      keyParams(k),
    );
    return row?.expires_on ?? null;
  }

  /** Rows of a SKU with available units outside the given locations, earliest expiry first; locked until commit. */
  allocatable(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    sku: string,
    skipLocations: string[],
  ): Promise<AllocatableRow[]> {
    return m.query(
      `SELECT location_code, lot, on_hand - reserved - held AS available
       FROM stock
       WHERE tenant_id = $1 AND warehouse_code = $2 AND sku = $3
         AND location_code <> ALL($4::text[]) AND on_hand - reserved - held > 0
       ORDER BY expires_on NULLS LAST, location_code, lot
       FOR UPDATE`,
      [tenantId, warehouseId, sku, skipLocations],
    );
  }

  /** Rows of a warehouse with units on hand, optionally of one SKU or location (at most 1000). */
  lines(tenantId: string, warehouseId: string, filter: { sku?: string; locationCode?: string }): Promise<StockRow[]> {
    return this.db.query(
      `SELECT sku, location_code, lot, to_char(expires_on, 'YYYY-MM-DD') AS expires_on, on_hand, reserved, held
       FROM stock
       WHERE tenant_id = $1 AND warehouse_code = $2
         AND ($3::text IS NULL OR sku = $3) AND ($4::text IS NULL OR location_code = $4) AND on_hand > 0
       ORDER BY sku, location_code, lot
       LIMIT 1000`,
      [tenantId, warehouseId, filter.sku ?? null, filter.locationCode ?? null],
    );
  }

  /**
   * One adjustment as a statement command (StatementCommands): the location must exist and not be blocked, and a
   * decrease must find the units available — all checked at write time, in the statement that writes. It also
   * reads the location (for the caches), the SKU's reorder point and its available units before and after.
   */
  adjustment(k: StockKey, quantityDelta: number): StatementChange {
    const usable = `EXISTS (SELECT 1 FROM loc WHERE NOT blocked) AND ${CLAIMABLE}`;
    const change =
      quantityDelta > 0
        ? `INSERT INTO stock (tenant_id, warehouse_code, sku, location_code, lot, on_hand)
           SELECT $1, $2, $3, $4, $5, $6::int
           WHERE ${usable}
           ON CONFLICT (tenant_id, warehouse_code, sku, location_code, lot)
           DO UPDATE SET on_hand = stock.on_hand + EXCLUDED.on_hand
           RETURNING on_hand`
        : `UPDATE stock
           SET on_hand = on_hand + $6::int
           WHERE ${KEY} AND on_hand - reserved - held >= -$6::int AND ${usable}
           RETURNING on_hand`;
    return {
      ctes: `
        loc AS (
          SELECT code, capacity, blocked
          FROM locations
          WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $4
        ),
        before AS (
          SELECT coalesce(sum(on_hand - reserved - held), 0)::int AS n
          FROM stock
          WHERE tenant_id = $1 AND warehouse_code = $2 AND sku = $3
        ),
        changed AS (${change}),
        outcome AS (
          SELECT EXISTS (SELECT 1 FROM changed) AS applied,
                 (SELECT to_jsonb(loc) FROM loc) AS location,
                 (SELECT on_hand FROM changed) AS on_hand,
                 coalesce((SELECT on_hand - reserved - held FROM stock WHERE ${KEY}), 0) AS has,
                 before.n AS before,
                 before.n + $6::int AS after,
                 (SELECT reorder_point FROM products WHERE tenant_id = $1 AND sku = $3) AS reorder_point
          FROM before
        )`,
      params: [...keyParams(k), quantityDelta],
    };
  }

  async increase(m: EntityManager, k: StockKey, quantity: number, expiresOn?: string): Promise<void> {
    await m.query(
      `INSERT INTO stock (tenant_id, warehouse_code, sku, location_code, lot, expires_on, on_hand)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, warehouse_code, sku, location_code, lot)
       DO UPDATE SET on_hand = stock.on_hand + EXCLUDED.on_hand,
                     expires_on = coalesce(stock.expires_on, EXCLUDED.expires_on)`,
      [...keyParams(k), expiresOn ?? null, quantity],
    );
  }

  /** Takes available (not reserved, not held) units out; INVENTORY.INSUFFICIENT_STOCK when there are not enough. */
  async decreaseAvailable(m: EntityManager, k: StockKey, quantity: number, field = 'quantity'): Promise<void> {
    const rows = await changedRows(
      m,
      `UPDATE stock
       SET on_hand = on_hand - $6
       WHERE ${KEY} AND on_hand - reserved - held >= $6
       RETURNING on_hand`,
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
      `UPDATE stock
       SET ${sets.join(', ')}
       WHERE ${KEY} AND ${has} >= $6
       RETURNING on_hand`,
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
    return insufficientStock(k, has, quantity, field, bucket);
  }
}
