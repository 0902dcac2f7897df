import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { changedRows, declareExempt, DomainError } from '@wms/events';
import type { EntityManager } from 'typeorm';
import { assertGtin, GTIN } from '../common/barcode.js';
import { conflict, isUniqueViolation, notFound } from '../common/command-context.js';
import { hasRow } from '../common/sql.js';
import { type MasterDataChange, MasterDataChanges } from './master-data-changes.js';
import type { PartnerKind, UnitOfMeasure } from './master-data.events.js';

export interface LocationRow {
  code: string;
  capacity: number | null;
  blocked: boolean;
}

export interface ProductRow {
  sku: string;
  gtin: string;
  reorder_point: number;
  discontinued_at: Date | null;
}

export interface NewProduct {
  sku: string;
  gtin: string;
  name: string;
  unitOfMeasure: UnitOfMeasure;
  reorderPoint: number;
  maxLevel?: number;
}

export interface ProductChanges {
  name?: string;
  reorderPoint?: number;
  maxLevel?: number;
}

/**
 * Inserts one row (column → value) inside a savepoint; false, and the transaction still usable, when its key
 * already exists.
 */
async function insertOnce(m: EntityManager, table: string, row: Record<string, unknown>): Promise<boolean> {
  const columns = Object.keys(row);
  try {
    await m.query('SAVEPOINT insert_once');
    await m.query(
      `INSERT INTO ${table} (${columns.join(', ')})
       VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      Object.values(row),
    );
    await m.query('RELEASE SAVEPOINT insert_once');
    return true;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await m.query('ROLLBACK TO SAVEPOINT insert_once');
    return false;
  }
}

for (const table of ['warehouses', 'zones', 'locations', 'products', 'partners'])
  declareExempt(table, "master data: warehouse records whose lifetime is the business's, not a pruning job's");

export const unknownLocation = (code: string, warehouseId: string, field: string) =>
  notFound('LOCATION.UNKNOWN', `no location ${code} in warehouse ${warehouseId}; scan the location label again`, field);
export const locationBlocked = (code: string, field: string) =>
  conflict('LOCATION.BLOCKED', `location ${code} is blocked; ask a supervisor to unblock it`, field);

const MAX_CACHED = 10_000;
const keyOf = (...parts: string[]) => parts.join('\u0000');

/**
 * Owns the tables `warehouses`, `zones`, `locations`, `products` and `partners`, and what every process caches of
 * them for the scanner's hot path: warehouses that exist (never deleted), products by barcode, and locations as the
 * last write told (see `cachedLocation`). A change of a product or location is announced in its transaction
 * (MasterDataChanges) and dropped by every process when it commits; while a process may have missed a notice it
 * reads the tables. Only rows that exist are cached: a new product or location is found at once.
 */
@Injectable()
export class MasterDataRepository implements OnModuleInit {
  private readonly warehouses = new Set<string>();
  private readonly products = new Map<string, ProductRow>();
  private readonly locations = new Map<string, LocationRow>();
  /** Bumped by every notice: a lookup that raced with a change is answered but not cached. */
  private generation = 0;

  constructor(@Optional() private readonly changes?: MasterDataChanges) {}

  onModuleInit(): Promise<void> | void {
    return this.changes?.subscribe(
      (change) => {
        this.generation++;
        this.forget(change);
      },
      () => {
        this.generation++;
        this.products.clear();
        this.locations.clear();
      },
    );
  }

  private get live(): boolean {
    return this.changes?.live === true;
  }

  private forget(change: MasterDataChange): void {
    if (change.kind === 'location') this.locations.delete(keyOf(change.tenantId, change.warehouseId, change.code));
    else
      for (const [key, row] of this.products)
        if (row.sku === change.sku && key.startsWith(keyOf(change.tenantId, ''))) this.products.delete(key);
  }

  private remember<T>(cache: Map<string, T>, key: string, value: T, generation: number): void {
    if (!this.live || generation !== this.generation) return;
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, value);
  }

  /**
   * The location as this process last saw it, when it is still trusted: a scan refused here as blocked costs no
   * query; any other answer is only a hint, and the command's statement checks the location at write time.
   */
  cachedLocation(tenantId: string, warehouseId: string, code: string): LocationRow | undefined {
    return this.live ? this.locations.get(keyOf(tenantId, warehouseId, code)) : undefined;
  }

  /** What a command's statement read of a location at write time; `generation()` taken before it was sent. */
  rememberLocation(tenantId: string, warehouseId: string, row: LocationRow, generation: number): void {
    this.remember(this.locations, keyOf(tenantId, warehouseId, row.code), row, generation);
  }

  /** Taken before a read whose answer may be cached (rememberLocation). */
  cacheGeneration(): number {
    return this.generation;
  }

  /** WAREHOUSE.UNKNOWN unless the tenant has this warehouse. */
  async warehouse(m: EntityManager, tenantId: string, warehouseId: string): Promise<void> {
    // Warehouses are never deleted or renamed: one that exists stays.
    if (this.warehouses.has(keyOf(tenantId, warehouseId))) return;
    const [row] = await m.query(
      `SELECT 1
       FROM warehouses
       WHERE tenant_id = $1 AND code = $2`,
      [tenantId, warehouseId],
    );
    if (!row) throw notFound('WAREHOUSE.UNKNOWN', `no warehouse ${warehouseId}`, 'warehouseId');
    if (this.warehouses.size >= MAX_CACHED) this.warehouses.clear();
    this.warehouses.add(keyOf(tenantId, warehouseId));
  }

  /** Whether the tenant has this warehouse. */
  hasWarehouse(m: EntityManager, tenantId: string, warehouseId: string): Promise<boolean> {
    return hasRow(m, `SELECT 1 FROM warehouses WHERE tenant_id = $1 AND code = $2`, [tenantId, warehouseId]);
  }

  /**
   * WAREHOUSE.UNKNOWN naming every one of `codes` the tenant has no warehouse for (`warehouses[1]`), for a write
   * that assigns them (people, devices, API keys). The ones it has stay locked (FOR KEY SHARE) until the caller's
   * transaction ends, so none can be removed between this check and that write.
   */
  async assertWarehouses(m: EntityManager, tenantId: string, codes: string[], field = 'warehouses'): Promise<void> {
    if (!codes.length) return;
    const rows: { code: string }[] = await m.query(
      `SELECT code
       FROM warehouses
       WHERE tenant_id = $1 AND code = ANY($2::text[])
       FOR KEY SHARE`,
      [tenantId, codes],
    );
    const known = new Set(rows.map((r) => r.code));
    const unknown = codes.flatMap((code, i) =>
      known.has(code) ? [] : [{ field: `${field}[${i}]`, reason: `no warehouse ${code} in this tenant` }],
    );
    if (unknown.length)
      throw new DomainError(
        'WAREHOUSE.UNKNOWN',
        unknown.map((u) => `${u.field}: ${u.reason}`).join('; '),
        'not_found',
        unknown,
      );
  }

  insertWarehouse(m: EntityManager, tenantId: string, w: { code: string; name: string; timeZone: string }) {
    return insertOnce(m, 'warehouses', { tenant_id: tenantId, code: w.code, name: w.name, time_zone: w.timeZone });
  }

  zoneExists(m: EntityManager, tenantId: string, warehouseId: string, code: string): Promise<boolean> {
    const sql = `SELECT 1 FROM zones WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3`;
    return hasRow(m, sql, [tenantId, warehouseId, code]);
  }

  insertZone(m: EntityManager, tenantId: string, warehouseId: string, z: { code: string; name: string }) {
    return insertOnce(m, 'zones', { tenant_id: tenantId, warehouse_code: warehouseId, code: z.code, name: z.name });
  }

  /** The location a scan names; LOCATION.UNKNOWN, or LOCATION.BLOCKED when it must be `usable`. */
  async location(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    code: string,
    field: string,
    usable = true,
  ): Promise<LocationRow> {
    const [row] = await m.query(
      `SELECT code, capacity, blocked
       FROM locations
       WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3`,
      [tenantId, warehouseId, code],
    );
    if (!row) throw unknownLocation(code, warehouseId, field);
    if (usable && row.blocked) throw locationBlocked(code, field);
    return row;
  }

  /** Held until commit: two moves into one location check its room one after the other. */
  async lockLocation(m: EntityManager, tenantId: string, warehouseId: string, code: string): Promise<void> {
    await m.query(
      `SELECT 1
       FROM locations
       WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3
       FOR UPDATE`,
      [tenantId, warehouseId, code],
    );
  }

  /** Codes of the warehouse's blocked locations, which allocation passes over. */
  async blockedLocations(m: EntityManager, tenantId: string, warehouseId: string): Promise<string[]> {
    const rows: { code: string }[] = await m.query(
      `SELECT code
       FROM locations
       WHERE tenant_id = $1 AND warehouse_code = $2 AND blocked`,
      [tenantId, warehouseId],
    );
    return rows.map((r) => r.code);
  }

  insertLocation(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    l: { code: string; zoneCode: string; capacity?: number },
  ): Promise<boolean> {
    const where = { tenant_id: tenantId, warehouse_code: warehouseId, code: l.code };
    return insertOnce(m, 'locations', { ...where, zone_code: l.zoneCode, capacity: l.capacity ?? null });
  }

  async setLocationBlocked(
    m: EntityManager,
    tenantId: string,
    warehouseId: string,
    code: string,
    reason: string | null,
  ): Promise<void> {
    await m.query(
      `UPDATE locations
       SET blocked = $4, blocked_reason = $5
       WHERE tenant_id = $1 AND warehouse_code = $2 AND code = $3`,
      [tenantId, warehouseId, code, reason !== null, reason],
    );
    await this.changes?.announce(m, { kind: 'location', tenantId, warehouseId, code });
  }

  /**
   * The product a scanned barcode names: a GTIN (8/12/13/14 digits, check digit verified) or a SKU.
   * `activeOnly` refuses discontinued products (receiving, ordering).
   */
  async productByBarcode(
    m: EntityManager,
    tenantId: string,
    barcode: string,
    field: string,
    activeOnly = false,
  ): Promise<ProductRow> {
    const isGtin = GTIN.test(barcode);
    if (isGtin) assertGtin(barcode, field);
    // Whether it is discontinued is read at the time of a command that refuses discontinued products.
    const key = keyOf(tenantId, barcode);
    const cached = activeOnly || !this.live ? undefined : this.products.get(key);
    if (cached) return cached;
    const generation = this.generation;
    const [row] = await m.query(
      `SELECT sku, gtin, reorder_point, discontinued_at
       FROM products
       WHERE tenant_id = $1 AND ${isGtin ? 'gtin' : 'sku'} = $2`,
      [tenantId, barcode],
    );
    if (!row)
      throw notFound(
        'PRODUCT.UNKNOWN_BARCODE',
        `no product has the barcode ${barcode}; check the label or create the product first`,
        field,
      );
    if (activeOnly && row.discontinued_at)
      throw conflict('PRODUCT.DISCONTINUED', `product ${row.sku} is discontinued`, field);
    this.remember(this.products, key, row, generation);
    return row;
  }

  async reorderPoint(m: EntityManager, tenantId: string, sku: string): Promise<number> {
    const [row] = await m.query(
      `SELECT reorder_point
       FROM products
       WHERE tenant_id = $1 AND sku = $2`,
      [tenantId, sku],
    );
    return row.reorder_point;
  }

  productExists(m: EntityManager, tenantId: string, sku: string): Promise<boolean> {
    return hasRow(m, `SELECT 1 FROM products WHERE tenant_id = $1 AND sku = $2`, [tenantId, sku]);
  }

  /** The SKU that already carries this GTIN, if any. */
  async skuWithGtin(m: EntityManager, tenantId: string, gtin: string): Promise<string | undefined> {
    const [row] = await m.query(
      `SELECT sku
       FROM products
       WHERE tenant_id = $1 AND gtin = $2`,
      [tenantId, gtin],
    );
    return row?.sku;
  }

  insertProduct(m: EntityManager, tenantId: string, p: NewProduct): Promise<boolean> {
    return insertOnce(m, 'products', {
      tenant_id: tenantId,
      sku: p.sku,
      gtin: p.gtin,
      name: p.name,
      unit_of_measure: p.unitOfMeasure,
      reorder_point: p.reorderPoint,
      max_level: p.maxLevel ?? null,
    });
  }

  /** Changes the given fields and returns the product as it is then; null when there is no such product. */
  async updateProduct(
    m: EntityManager,
    tenantId: string,
    sku: string,
    c: ProductChanges,
  ): Promise<{ sku: string; name: string; reorderPoint: number; maxLevel: number | null } | null> {
    const [row] = await changedRows<{ sku: string; name: string; reorder_point: number; max_level: number | null }>(
      m,
      `UPDATE products
       SET name = coalesce($3, name),
           reorder_point = coalesce($4, reorder_point),
           max_level = coalesce($5, max_level)
       WHERE tenant_id = $1 AND sku = $2
       RETURNING sku, name, reorder_point, max_level`,
      [tenantId, sku, c.name ?? null, c.reorderPoint ?? null, c.maxLevel ?? null],
    );
    if (row) await this.changes?.announce(m, { kind: 'product', tenantId, sku });
    return row ? { sku: row.sku, name: row.name, reorderPoint: row.reorder_point, maxLevel: row.max_level } : null;
  }

  /** False when there is no such product or it is discontinued already. */
  async discontinueProduct(m: EntityManager, tenantId: string, sku: string): Promise<boolean> {
    const rows = await changedRows(
      m,
      `UPDATE products
       SET discontinued_at = now()
       WHERE tenant_id = $1 AND sku = $2 AND discontinued_at IS NULL
       RETURNING sku`,
      [tenantId, sku],
    );
    if (rows.length) await this.changes?.announce(m, { kind: 'product', tenantId, sku });
    return rows.length > 0;
  }

  partnerExists(m: EntityManager, tenantId: string, kind: PartnerKind, code: string): Promise<boolean> {
    const sql = `SELECT 1 FROM partners WHERE tenant_id = $1 AND kind = $2 AND code = $3`;
    return hasRow(m, sql, [tenantId, kind, code]);
  }

  insertPartner(m: EntityManager, tenantId: string, kind: PartnerKind, p: { code: string; name: string }) {
    return insertOnce(m, 'partners', { tenant_id: tenantId, kind, code: p.code, name: p.name });
  }
}
