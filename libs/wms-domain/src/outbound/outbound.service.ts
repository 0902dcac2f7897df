import { Injectable } from '@nestjs/common';
import { EventService, type EventTransaction, type TransactionResult } from '@wms/events';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { productByBarcode } from '../common/barcode.js';
import {
  type CommandContext,
  conflict,
  idempotencyFor,
  isUniqueViolation,
  notFound,
} from '../common/command-context.js';
import { publishStockThresholds } from '../inventory/stock-alerts.js';
import { StockRepository } from '../inventory/stock.repository.js';

export interface CreateOrderInput {
  orderNumber: string;
  customerCode: string;
  lines: { barcode: string; quantity: number }[];
}
export interface ConfirmPickInput {
  locationCode: string;
  barcode: string;
  quantity: number;
}
export interface PackInput {
  cartons: { cartonId: string; weightKg?: number }[];
}
export interface ShipInput {
  carrierCode: string;
  trackingNumber: string;
}

export interface PickTask {
  taskId: string;
  line: number;
  sku: string;
  locationCode: string;
  lot: string;
  quantity: number;
  picked: number;
  status: string;
}
export interface OrderView {
  orderNumber: string;
  customerCode: string;
  status: string;
  carrierCode: string | null;
  trackingNumber: string | null;
  lines: { line: number; sku: string; quantity: number; picked: number }[];
  pickTasks: PickTask[];
}

type OrderStatus = 'created' | 'allocated' | 'picked' | 'packed' | 'shipped' | 'cancelled';

@Injectable()
export class OutboundService {
  constructor(
    private readonly events: EventService,
    private readonly stock: StockRepository,
    private readonly db: DataSource,
  ) {}

  createOrder(
    ctx: CommandContext,
    warehouseId: string,
    input: CreateOrderInput,
  ): Promise<TransactionResult<{ orderNumber: string; lines: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.stock.warehouse(m, ctx.tenantId, warehouseId);
        const [customer] = await m.query(
          `SELECT 1 FROM partners WHERE tenant_id = $1 AND kind = 'customer' AND code = $2`,
          [ctx.tenantId, input.customerCode],
        );
        if (!customer) throw notFound('CUSTOMER.UNKNOWN', `no customer ${input.customerCode}`, 'customerCode');
        const [existing] = await m.query(
          `SELECT 1 FROM orders WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3`,
          [ctx.tenantId, warehouseId, input.orderNumber],
        );
        if (existing) throw conflict('ORDER.EXISTS', `order ${input.orderNumber} already exists`, 'orderNumber');
        await m
          .query(`INSERT INTO orders (tenant_id, warehouse_code, number, customer_code) VALUES ($1, $2, $3, $4)`, [
            ctx.tenantId,
            warehouseId,
            input.orderNumber,
            input.customerCode,
          ])
          .catch((error: unknown) => {
            throw isUniqueViolation(error)
              ? conflict('ORDER.EXISTS', `order ${input.orderNumber} already exists`, 'orderNumber')
              : error;
          });
        const lines = [];
        for (const [i, l] of input.lines.entries()) {
          const product = await productByBarcode(m, ctx.tenantId, l.barcode, `lines[${i}].barcode`, true);
          lines.push({ line: i + 1, sku: product.sku, quantity: l.quantity });
          await m.query(
            `INSERT INTO order_lines (tenant_id, warehouse_code, order_number, line, sku, quantity) VALUES ($1, $2, $3, $4, $5, $6)`,
            [ctx.tenantId, warehouseId, input.orderNumber, i + 1, product.sku, l.quantity],
          );
        }
        await tx.publish(
          'order.created',
          { warehouseId, orderNumber: input.orderNumber, customerCode: input.customerCode, lines },
          ctx,
        );
        return { orderNumber: input.orderNumber, lines: lines.length };
      },
      idempotencyFor(ctx, 'order.create', { warehouseId, input }),
    );
  }

  /** Reserves stock for every line (earliest expiry first, unblocked locations) and creates pick tasks; all lines or none. */
  allocate(
    ctx: CommandContext,
    warehouseId: string,
    orderNumber: string,
  ): Promise<TransactionResult<{ orderNumber: string; pickTasks: PickTask[] }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.lockOrder(tx, ctx, warehouseId, orderNumber, ['created'], 'ORDER.NOT_ALLOCATABLE');
        const lines: { line: number; sku: string; quantity: number }[] = await m.query(
          `SELECT line, sku, quantity FROM order_lines WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3 ORDER BY line`,
          [ctx.tenantId, warehouseId, orderNumber],
        );
        const tasks: PickTask[] = [];
        for (const line of lines) {
          const before = await this.stock.available(m, ctx.tenantId, warehouseId, line.sku);
          const candidates: { location_code: string; lot: string; available: number }[] = await m.query(
            `SELECT s.location_code, s.lot, s.on_hand - s.reserved - s.held AS available FROM stock s
           JOIN locations l ON (l.tenant_id, l.warehouse_code, l.code) = (s.tenant_id, s.warehouse_code, s.location_code)
           WHERE s.tenant_id = $1 AND s.warehouse_code = $2 AND s.sku = $3 AND NOT l.blocked AND s.on_hand - s.reserved - s.held > 0
           ORDER BY s.expires_on NULLS LAST, s.location_code, s.lot FOR UPDATE OF s`,
            [ctx.tenantId, warehouseId, line.sku],
          );
          let missing = line.quantity;
          for (const c of candidates) {
            if (missing === 0) break;
            const take = Math.min(missing, c.available);
            const key = {
              tenantId: ctx.tenantId,
              warehouseId,
              sku: line.sku,
              locationCode: c.location_code,
              lot: c.lot,
            };
            await this.stock.shift(m, key, take, 'available', 'reserved');
            const task: PickTask = {
              taskId: uuidv7(),
              line: line.line,
              sku: line.sku,
              locationCode: c.location_code,
              lot: c.lot,
              quantity: take,
              picked: 0,
              status: 'open',
            };
            await m.query(
              `INSERT INTO pick_tasks (id, tenant_id, warehouse_code, order_number, line, sku, location_code, lot, quantity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
              [task.taskId, ctx.tenantId, warehouseId, orderNumber, line.line, line.sku, c.location_code, c.lot, take],
            );
            await tx.publish(
              'inventory.reserved',
              { warehouseId, sku: line.sku, locationCode: c.location_code, lot: c.lot, quantity: take, orderNumber },
              ctx,
            );
            await tx.publish(
              'pick.assigned',
              {
                warehouseId,
                orderNumber,
                taskId: task.taskId,
                line: line.line,
                sku: line.sku,
                locationCode: c.location_code,
                lot: c.lot,
                quantity: take,
              },
              ctx,
            );
            tasks.push(task);
            missing -= take;
          }
          if (missing > 0) {
            throw conflict(
              'INVENTORY.INSUFFICIENT_STOCK',
              `line ${line.line}: only ${line.quantity - missing} of ${line.quantity} unit(s) of ${line.sku} are available`,
              `lines[${line.line - 1}].quantity`,
            );
          }
          await publishStockThresholds(tx, this.stock, ctx, warehouseId, line.sku, before);
        }
        await m.query(
          `UPDATE orders SET status = 'allocated' WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3`,
          [ctx.tenantId, warehouseId, orderNumber],
        );
        await tx.publish('order.allocated', { warehouseId, orderNumber, pickTasks: tasks.length }, ctx);
        return { orderNumber, pickTasks: tasks };
      },
      idempotencyFor(ctx, 'order.allocate', { warehouseId, orderNumber }),
    );
  }

  /** A pick scan: the location and item must match the task; fewer units than asked is a short pick. */
  confirmPick(
    ctx: CommandContext,
    warehouseId: string,
    taskId: string,
    input: ConfirmPickInput,
  ): Promise<TransactionResult<{ taskId: string; picked: number; status: string }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        const [task] = await m.query(
          `SELECT * FROM pick_tasks WHERE id = $1 AND tenant_id = $2 AND warehouse_code = $3 FOR UPDATE`,
          [taskId, ctx.tenantId, warehouseId],
        );
        if (!task) throw notFound('PICK.UNKNOWN', `no pick task ${taskId} in warehouse ${warehouseId}`, 'taskId');
        // The order lock serialises picks with cancel, which releases the order's open reservations.
        await this.lockOrder(
          tx,
          ctx,
          warehouseId,
          task.order_number,
          ['created', 'allocated', 'picked', 'packed', 'shipped', 'cancelled'],
          'ORDER.UNKNOWN',
        );
        const [current] = await m.query(`SELECT status FROM pick_tasks WHERE id = $1`, [taskId]);
        task.status = current.status;
        if (task.status !== 'open') throw conflict('PICK.NOT_OPEN', `pick task ${taskId} is ${task.status}`, 'taskId');
        if (input.locationCode !== task.location_code)
          throw conflict(
            'PICK.WRONG_LOCATION',
            `this task picks from ${task.location_code}, not ${input.locationCode}`,
            'locationCode',
          );
        const product = await productByBarcode(m, ctx.tenantId, input.barcode, 'barcode');
        if (product.sku !== task.sku)
          throw conflict('PICK.WRONG_ITEM', `this task picks ${task.sku}, not ${product.sku}`, 'barcode');
        if (input.quantity > task.quantity)
          throw conflict(
            'PICK.OVER_PICK',
            `this task picks ${task.quantity} unit(s); ${input.quantity} scanned — put the extra back`,
            'quantity',
          );
        await this.stock.location(m, ctx.tenantId, warehouseId, task.location_code, 'locationCode');
        const key = {
          tenantId: ctx.tenantId,
          warehouseId,
          sku: task.sku,
          locationCode: task.location_code,
          lot: task.lot,
        };
        await this.stock.shift(m, key, task.quantity, 'reserved', 'available');
        if (input.quantity > 0) await this.stock.decreaseAvailable(m, key, input.quantity);
        const short = input.quantity < task.quantity;
        const status = short ? 'short' : 'done';
        await m.query(`UPDATE pick_tasks SET picked = $2, status = $3 WHERE id = $1`, [taskId, input.quantity, status]);
        await m.query(
          `UPDATE order_lines SET picked = picked + $5 WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3 AND line = $4`,
          [ctx.tenantId, warehouseId, task.order_number, task.line, input.quantity],
        );
        const base = {
          warehouseId,
          orderNumber: task.order_number,
          taskId,
          sku: task.sku,
          locationCode: task.location_code,
          lot: task.lot,
        };
        if (short) {
          await tx.publish('pick.short', { ...base, requested: task.quantity, picked: input.quantity }, ctx);
          await tx.publish(
            'inventory.released',
            {
              warehouseId,
              sku: task.sku,
              locationCode: task.location_code,
              lot: task.lot,
              quantity: task.quantity - input.quantity,
              orderNumber: task.order_number,
            },
            ctx,
          );
        } else {
          await tx.publish('pick.completed', { ...base, quantity: input.quantity }, ctx);
        }
        await m.query(
          `UPDATE orders SET status = 'picked' WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3 AND status = 'allocated'
           AND NOT EXISTS (SELECT 1 FROM pick_tasks WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3 AND status = 'open')`,
          [ctx.tenantId, warehouseId, task.order_number],
        );
        return { taskId, picked: input.quantity, status };
      },
      idempotencyFor(ctx, 'pick.confirm', { warehouseId, taskId, input }),
    );
  }

  pack(
    ctx: CommandContext,
    warehouseId: string,
    orderNumber: string,
    input: PackInput,
  ): Promise<TransactionResult<{ orderNumber: string; cartons: number }>> {
    return this.events.transaction(
      async (tx) => {
        await this.lockOrder(tx, ctx, warehouseId, orderNumber, ['picked'], 'ORDER.NOT_PICKED');
        const ids = new Set(input.cartons.map((c) => c.cartonId));
        if (ids.size !== input.cartons.length)
          throw conflict('ORDER.DUPLICATE_CARTON', 'each carton id may appear once', 'cartons');
        for (const c of input.cartons) {
          await tx.manager.query(
            `INSERT INTO cartons (tenant_id, warehouse_code, order_number, carton_id, weight_kg) VALUES ($1, $2, $3, $4, $5)`,
            [ctx.tenantId, warehouseId, orderNumber, c.cartonId, c.weightKg ?? null],
          );
        }
        await this.setStatus(tx, ctx, warehouseId, orderNumber, 'packed');
        await tx.publish('order.packed', { warehouseId, orderNumber, cartons: input.cartons }, ctx);
        return { orderNumber, cartons: input.cartons.length };
      },
      idempotencyFor(ctx, 'order.pack', { warehouseId, orderNumber, input }),
    );
  }

  ship(
    ctx: CommandContext,
    warehouseId: string,
    orderNumber: string,
    input: ShipInput,
  ): Promise<TransactionResult<{ orderNumber: string; trackingNumber: string }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.lockOrder(tx, ctx, warehouseId, orderNumber, ['packed'], 'ORDER.NOT_PACKED');
        const [carrier] = await m.query(
          `SELECT 1 FROM partners WHERE tenant_id = $1 AND kind = 'carrier' AND code = $2`,
          [ctx.tenantId, input.carrierCode],
        );
        if (!carrier) throw notFound('CARRIER.UNKNOWN', `no carrier ${input.carrierCode}`, 'carrierCode');
        const [{ n: cartons }] = await m.query(
          `SELECT count(*)::int AS n FROM cartons WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3`,
          [ctx.tenantId, warehouseId, orderNumber],
        );
        await m.query(
          `UPDATE orders SET status = 'shipped', carrier_code = $4, tracking_number = $5 WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3`,
          [ctx.tenantId, warehouseId, orderNumber, input.carrierCode, input.trackingNumber],
        );
        await tx.publish(
          'shipment.dispatched',
          { warehouseId, orderNumber, carrierCode: input.carrierCode, trackingNumber: input.trackingNumber, cartons },
          ctx,
        );
        return { orderNumber, trackingNumber: input.trackingNumber };
      },
      idempotencyFor(ctx, 'order.ship', { warehouseId, orderNumber, input }),
    );
  }

  /** Cancels an order that is not picked yet, releasing its reservations. */
  cancel(
    ctx: CommandContext,
    warehouseId: string,
    orderNumber: string,
    reason: string,
  ): Promise<TransactionResult<{ orderNumber: string; released: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        await this.lockOrder(tx, ctx, warehouseId, orderNumber, ['created', 'allocated'], 'ORDER.NOT_CANCELLABLE');
        const [{ n: picks }] = await m.query(
          `SELECT count(*)::int AS n FROM pick_tasks WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3 AND status <> 'open'`,
          [ctx.tenantId, warehouseId, orderNumber],
        );
        if (picks > 0)
          throw conflict(
            'ORDER.NOT_CANCELLABLE',
            `order ${orderNumber} has picked lines; return the goods to stock first`,
            'orderNumber',
          );
        const open = await m.query(
          `SELECT id, sku, location_code, lot, quantity FROM pick_tasks WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3 AND status = 'open' ORDER BY id`,
          [ctx.tenantId, warehouseId, orderNumber],
        );
        for (const t of open) {
          await this.stock.shift(
            m,
            { tenantId: ctx.tenantId, warehouseId, sku: t.sku, locationCode: t.location_code, lot: t.lot },
            t.quantity,
            'reserved',
            'available',
          );
          await m.query(`UPDATE pick_tasks SET status = 'cancelled' WHERE id = $1 AND status = 'open'`, [t.id]);
          await tx.publish(
            'inventory.released',
            { warehouseId, sku: t.sku, locationCode: t.location_code, lot: t.lot, quantity: t.quantity, orderNumber },
            ctx,
          );
        }
        await this.setStatus(tx, ctx, warehouseId, orderNumber, 'cancelled');
        await tx.publish('order.cancelled', { warehouseId, orderNumber, reason }, ctx);
        return { orderNumber, released: open.length };
      },
      idempotencyFor(ctx, 'order.cancel', { warehouseId, orderNumber, reason }),
    );
  }

  async get(tenantId: string, warehouseId: string, orderNumber: string): Promise<OrderView> {
    const [order] = await this.db.query(
      `SELECT * FROM orders WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3`,
      [tenantId, warehouseId, orderNumber],
    );
    if (!order) throw notFound('ORDER.UNKNOWN', `no order ${orderNumber} in warehouse ${warehouseId}`, 'orderNumber');
    const lines = await this.db.query(
      `SELECT line, sku, quantity, picked FROM order_lines WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3 ORDER BY line`,
      [tenantId, warehouseId, orderNumber],
    );
    const tasks = await this.db.query(
      `SELECT * FROM pick_tasks WHERE tenant_id = $1 AND warehouse_code = $2 AND order_number = $3 ORDER BY line, id`,
      [tenantId, warehouseId, orderNumber],
    );
    return {
      orderNumber,
      customerCode: order.customer_code,
      status: order.status,
      carrierCode: order.carrier_code,
      trackingNumber: order.tracking_number,
      lines,
      pickTasks: tasks.map(
        (t: {
          id: string;
          line: number;
          sku: string;
          location_code: string;
          lot: string;
          quantity: number;
          picked: number;
          status: string;
        }) => ({
          taskId: t.id,
          line: t.line,
          sku: t.sku,
          locationCode: t.location_code,
          lot: t.lot,
          quantity: t.quantity,
          picked: t.picked,
          status: t.status,
        }),
      ),
    };
  }

  private async lockOrder(
    tx: EventTransaction,
    ctx: CommandContext,
    warehouseId: string,
    orderNumber: string,
    allowed: OrderStatus[],
    code: string,
  ): Promise<void> {
    const [order] = await tx.manager.query(
      `SELECT status FROM orders WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3 FOR UPDATE`,
      [ctx.tenantId, warehouseId, orderNumber],
    );
    if (!order) throw notFound('ORDER.UNKNOWN', `no order ${orderNumber} in warehouse ${warehouseId}`, 'orderNumber');
    if (!allowed.includes(order.status))
      throw conflict(
        code,
        `order ${orderNumber} is ${order.status}; this needs it to be ${allowed.join(' or ')}`,
        'orderNumber',
      );
  }

  private async setStatus(
    tx: EventTransaction,
    ctx: CommandContext,
    warehouseId: string,
    orderNumber: string,
    status: OrderStatus,
  ): Promise<void> {
    await tx.manager.query(
      `UPDATE orders SET status = $4 WHERE tenant_id = $1 AND warehouse_code = $2 AND number = $3`,
      [ctx.tenantId, warehouseId, orderNumber, status],
    );
  }
}
