import { Injectable } from '@nestjs/common';
import { declareExempt } from '@wms/events';
import { DataSource, type EntityManager } from 'typeorm';
import { isUniqueViolation } from '../common/command-context.js';
import { hasRow, lockedStatus } from '../common/sql.js';

export type OrderStatus = 'created' | 'allocated' | 'picked' | 'packed' | 'shipped' | 'cancelled';

/** One order of one warehouse. */
export interface OrderRef {
  tenantId: string;
  warehouseId: string;
  orderNumber: string;
}

export interface OrderRow {
  customer_code: string;
  status: OrderStatus;
  carrier_code: string | null;
  tracking_number: string | null;
}

export interface OrderLineRow {
  line: number;
  sku: string;
  quantity: number;
  picked: number;
}

export interface PickTaskRow {
  id: string;
  order_number: string;
  line: number;
  sku: string;
  location_code: string;
  lot: string;
  quantity: number;
  picked: number;
  status: string;
}

export type NewPickTask = Pick<PickTaskRow, 'id' | 'line' | 'sku' | 'location_code' | 'lot' | 'quantity'>;

const ORDER = `tenant_id = $1 AND warehouse_code = $2 AND number = $3`;
const OF_ORDER = `tenant_id = $1 AND warehouse_code = $2 AND order_number = $3`;
const ref = (o: OrderRef) => [o.tenantId, o.warehouseId, o.orderNumber];
const TASK_COLUMNS = `id, order_number, line, sku, location_code, lot, quantity, picked, status`;

for (const table of ['orders', 'order_lines', 'pick_tasks', 'cartons'])
  declareExempt(table, "outbound warehouse records: their lifetime is the business's, not a pruning job's");

/** Owns the tables `orders`, `order_lines`, `pick_tasks` and `cartons`: an outbound order from creation to shipping. */
@Injectable()
export class OrdersRepository {
  constructor(private readonly db: DataSource) {}

  exists(m: EntityManager, order: OrderRef): Promise<boolean> {
    return hasRow(m, `SELECT 1 FROM orders WHERE ${ORDER}`, ref(order));
  }

  /** Creates the order without lines; false when its number is taken. */
  async create(m: EntityManager, order: OrderRef, customerCode: string): Promise<boolean> {
    try {
      await m.query(
        `INSERT INTO orders (tenant_id, warehouse_code, number, customer_code)
         VALUES ($1, $2, $3, $4)`,
        [...ref(order), customerCode],
      );
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async addLine(m: EntityManager, order: OrderRef, line: number, sku: string, quantity: number): Promise<void> {
    await m.query(
      `INSERT INTO order_lines (tenant_id, warehouse_code, order_number, line, sku, quantity)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [...ref(order), line, sku, quantity],
    );
  }

  /** The order outside any transaction, for reading; undefined when there is none. */
  async find(order: OrderRef): Promise<OrderRow | undefined> {
    const [row] = await this.db.query(
      `SELECT customer_code, status, carrier_code, tracking_number
       FROM orders
       WHERE ${ORDER}`,
      ref(order),
    );
    return row;
  }

  /** The order's status, locked until commit: commands on one order run one after the other. */
  lockStatus(m: EntityManager, order: OrderRef): Promise<OrderStatus | undefined> {
    return lockedStatus(m, 'orders', ORDER, ref(order));
  }

  async setStatus(m: EntityManager, order: OrderRef, status: OrderStatus): Promise<void> {
    await m.query(
      `UPDATE orders
       SET status = $4
       WHERE ${ORDER}`,
      [...ref(order), status],
    );
  }

  /** An allocated order becomes picked once none of its pick tasks is open. */
  async markPickedWhenNoTaskOpen(m: EntityManager, order: OrderRef): Promise<void> {
    await m.query(
      `UPDATE orders
       SET status = 'picked'
       WHERE ${ORDER} AND status = 'allocated'
         AND NOT EXISTS (SELECT 1 FROM pick_tasks WHERE ${OF_ORDER} AND status = 'open')`,
      ref(order),
    );
  }

  async ship(m: EntityManager, order: OrderRef, carrierCode: string, trackingNumber: string): Promise<void> {
    await m.query(
      `UPDATE orders
       SET status = 'shipped', carrier_code = $4, tracking_number = $5
       WHERE ${ORDER}`,
      [...ref(order), carrierCode, trackingNumber],
    );
  }

  /** Lines in order; `m` joins a transaction, without it the lines are read on their own. */
  lines(order: OrderRef, m: EntityManager = this.db.manager): Promise<OrderLineRow[]> {
    return m.query(
      `SELECT line, sku, quantity, picked
       FROM order_lines
       WHERE ${OF_ORDER}
       ORDER BY line`,
      ref(order),
    );
  }

  /** Units picked over every line of the order. */
  async pickedUnits(m: EntityManager, order: OrderRef): Promise<number> {
    const [row]: { n: number }[] = await m.query(
      `SELECT coalesce(sum(picked), 0)::int AS n
       FROM order_lines
       WHERE ${OF_ORDER}`,
      ref(order),
    );
    return row.n;
  }

  async addPicked(m: EntityManager, order: OrderRef, line: number, quantity: number): Promise<void> {
    await m.query(
      `UPDATE order_lines
       SET picked = picked + $5
       WHERE ${OF_ORDER} AND line = $4`,
      [...ref(order), line, quantity],
    );
  }

  async addPickTask(m: EntityManager, order: OrderRef, t: NewPickTask): Promise<void> {
    await m.query(
      `INSERT INTO pick_tasks (id, tenant_id, warehouse_code, order_number, line, sku, location_code, lot, quantity)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [t.id, ...ref(order), t.line, t.sku, t.location_code, t.lot, t.quantity],
    );
  }

  /** A pick task of the warehouse, locked until commit. */
  async lockPickTask(m: EntityManager, tenantId: string, warehouseId: string, id: string) {
    const [row] = await m.query(
      `SELECT ${TASK_COLUMNS}
       FROM pick_tasks
       WHERE id = $1 AND tenant_id = $2 AND warehouse_code = $3
       FOR UPDATE`,
      [id, tenantId, warehouseId],
    );
    return row as PickTaskRow | undefined;
  }

  /** The task's status as committed now (after waiting for the order's lock). */
  async pickTaskStatus(m: EntityManager, id: string): Promise<string> {
    const [row] = await m.query(
      `SELECT status
       FROM pick_tasks
       WHERE id = $1`,
      [id],
    );
    return row.status;
  }

  async finishPickTask(m: EntityManager, id: string, picked: number, status: 'done' | 'short'): Promise<void> {
    await m.query(
      `UPDATE pick_tasks
       SET picked = $2, status = $3
       WHERE id = $1`,
      [id, picked, status],
    );
  }

  async cancelPickTask(m: EntityManager, id: string): Promise<void> {
    await m.query(
      `UPDATE pick_tasks
       SET status = 'cancelled'
       WHERE id = $1 AND status = 'open'`,
      [id],
    );
  }

  /** The order's pick tasks by line; `m` joins a transaction, without it they are read on their own. */
  pickTasks(order: OrderRef, m: EntityManager = this.db.manager): Promise<PickTaskRow[]> {
    return m.query(
      `SELECT ${TASK_COLUMNS}
       FROM pick_tasks
       WHERE ${OF_ORDER}
       ORDER BY line, id`,
      ref(order),
    );
  }

  /** Pick tasks of the order that are done, short or cancelled. */
  async closedPickTaskCount(m: EntityManager, order: OrderRef): Promise<number> {
    const [row] = await m.query(
      `SELECT count(*)::int AS n
       FROM pick_tasks
       WHERE ${OF_ORDER} AND status <> 'open'`,
      ref(order),
    );
    return row.n;
  }

  openPickTasks(m: EntityManager, order: OrderRef): Promise<PickTaskRow[]> {
    return m.query(
      `SELECT ${TASK_COLUMNS}
       FROM pick_tasks
       WHERE ${OF_ORDER} AND status = 'open'
       ORDER BY id`,
      ref(order),
    );
  }

  async addCarton(m: EntityManager, order: OrderRef, cartonId: string, weightKg?: number): Promise<void> {
    await m.query(
      `INSERT INTO cartons (tenant_id, warehouse_code, order_number, carton_id, weight_kg)
       VALUES ($1, $2, $3, $4, $5)`,
      [...ref(order), cartonId, weightKg ?? null],
    );
  }

  async cartonCount(m: EntityManager, order: OrderRef): Promise<number> {
    const [row] = await m.query(
      `SELECT count(*)::int AS n
       FROM cartons
       WHERE ${OF_ORDER}`,
      ref(order),
    );
    return row.n;
  }
}
