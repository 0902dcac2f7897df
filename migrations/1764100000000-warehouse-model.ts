import type { MigrationInterface, QueryRunner } from 'typeorm';

export class WarehouseModel1764100000000 implements MigrationInterface {
  name = 'WarehouseModel1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE warehouses (
        tenant_id text NOT NULL,
        code text NOT NULL,
        name text NOT NULL,
        time_zone text NOT NULL DEFAULT 'UTC',
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, code)
      )`);
    await q.query(`
      CREATE TABLE zones (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        code text NOT NULL,
        name text NOT NULL,
        PRIMARY KEY (tenant_id, warehouse_code, code),
        FOREIGN KEY (tenant_id, warehouse_code) REFERENCES warehouses (tenant_id, code)
      )`);
    await q.query(`
      CREATE TABLE locations (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        code text NOT NULL,
        zone_code text NOT NULL,
        capacity int CHECK (capacity > 0),
        blocked boolean NOT NULL DEFAULT false,
        blocked_reason text,
        PRIMARY KEY (tenant_id, warehouse_code, code),
        FOREIGN KEY (tenant_id, warehouse_code, zone_code) REFERENCES zones (tenant_id, warehouse_code, code)
      )`);
    await q.query(`
      CREATE TABLE products (
        tenant_id text NOT NULL,
        sku text NOT NULL,
        gtin text NOT NULL,
        name text NOT NULL,
        unit_of_measure text NOT NULL,
        reorder_point int NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
        max_level int CHECK (max_level > 0),
        discontinued_at timestamptz,
        PRIMARY KEY (tenant_id, sku),
        UNIQUE (tenant_id, gtin)
      )`);
    await q.query(`
      CREATE TABLE partners (
        tenant_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('supplier', 'customer', 'carrier')),
        code text NOT NULL,
        name text NOT NULL,
        PRIMARY KEY (tenant_id, kind, code)
      )`);
    // Stock per (SKU, location, lot). Units on hand; of those, reserved for orders and held by quality.
    await q.query(`
      CREATE TABLE stock (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        sku text NOT NULL,
        location_code text NOT NULL,
        lot text NOT NULL DEFAULT '',
        expires_on date,
        on_hand int NOT NULL CHECK (on_hand >= 0),
        reserved int NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        held int NOT NULL DEFAULT 0 CHECK (held >= 0),
        CHECK (reserved + held <= on_hand),
        PRIMARY KEY (tenant_id, warehouse_code, sku, location_code, lot),
        FOREIGN KEY (tenant_id, sku) REFERENCES products (tenant_id, sku),
        FOREIGN KEY (tenant_id, warehouse_code, location_code) REFERENCES locations (tenant_id, warehouse_code, code)
      )`);
    await q.query(`CREATE INDEX stock_sku_idx ON stock (tenant_id, warehouse_code, sku)`);
    await q.query(`
      CREATE TABLE asns (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        number text NOT NULL,
        supplier_code text NOT NULL,
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, warehouse_code, number),
        FOREIGN KEY (tenant_id, warehouse_code) REFERENCES warehouses (tenant_id, code)
      )`);
    await q.query(`
      CREATE TABLE asn_lines (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        asn_number text NOT NULL,
        sku text NOT NULL,
        expected int NOT NULL CHECK (expected >= 0),
        received int NOT NULL DEFAULT 0 CHECK (received >= 0),
        damaged int NOT NULL DEFAULT 0 CHECK (damaged >= 0),
        PRIMARY KEY (tenant_id, warehouse_code, asn_number, sku),
        FOREIGN KEY (tenant_id, warehouse_code, asn_number) REFERENCES asns (tenant_id, warehouse_code, number)
      )`);
    await q.query(`
      CREATE TABLE orders (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        number text NOT NULL,
        customer_code text NOT NULL,
        status text NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'allocated', 'picked', 'packed', 'shipped', 'cancelled')),
        carrier_code text,
        tracking_number text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, warehouse_code, number),
        FOREIGN KEY (tenant_id, warehouse_code) REFERENCES warehouses (tenant_id, code)
      )`);
    await q.query(`
      CREATE TABLE order_lines (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        order_number text NOT NULL,
        line int NOT NULL,
        sku text NOT NULL,
        quantity int NOT NULL CHECK (quantity > 0),
        picked int NOT NULL DEFAULT 0 CHECK (picked >= 0 AND picked <= quantity),
        PRIMARY KEY (tenant_id, warehouse_code, order_number, line),
        FOREIGN KEY (tenant_id, warehouse_code, order_number) REFERENCES orders (tenant_id, warehouse_code, number),
        FOREIGN KEY (tenant_id, sku) REFERENCES products (tenant_id, sku)
      )`);
    await q.query(`
      CREATE TABLE pick_tasks (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        order_number text NOT NULL,
        line int NOT NULL,
        sku text NOT NULL,
        location_code text NOT NULL,
        lot text NOT NULL,
        quantity int NOT NULL CHECK (quantity > 0),
        picked int NOT NULL DEFAULT 0 CHECK (picked >= 0 AND picked <= quantity),
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'short', 'cancelled')),
        FOREIGN KEY (tenant_id, warehouse_code, order_number, line) REFERENCES order_lines (tenant_id, warehouse_code, order_number, line)
      )`);
    await q.query(`CREATE INDEX pick_tasks_order_idx ON pick_tasks (tenant_id, warehouse_code, order_number)`);
    await q.query(`
      CREATE TABLE cartons (
        tenant_id text NOT NULL,
        warehouse_code text NOT NULL,
        order_number text NOT NULL,
        carton_id text NOT NULL,
        weight_kg numeric(8, 3) CHECK (weight_kg > 0),
        PRIMARY KEY (tenant_id, warehouse_code, order_number, carton_id),
        FOREIGN KEY (tenant_id, warehouse_code, order_number) REFERENCES orders (tenant_id, warehouse_code, number)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'cartons',
      'pick_tasks',
      'order_lines',
      'orders',
      'asn_lines',
      'asns',
      'stock',
      'partners',
      'products',
      'locations',
      'zones',
      'warehouses',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
