import { Injectable } from '@nestjs/common';
import { EventService, type TransactionResult } from '@wms/events';
import type { EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { type CommandContext, conflict, idempotencyFor, notFound } from '../common/command-context.js';
import { StockThresholdsService } from '../inventory/stock-thresholds.service.js';
import { StockRepository } from '../inventory/stock.repository.js';
import { MasterDataRepository } from '../master-data/master-data.repository.js';
import { type OrderRef, OrdersRepository, type OrderStatus, type PickTaskRow } from './orders.repository.js';

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

@Injectable()
export class OutboundService {
  constructor(
    private readonly events: EventService,
    private readonly orders: OrdersRepository,
    private readonly stock: StockRepository,
    private readonly masterData: MasterDataRepository,
    private readonly thresholds: StockThresholdsService,
  ) {}

  createOrder(
    ctx: CommandContext,
    warehouseId: string,
    input: CreateOrderInput,
  ): Promise<TransactionResult<{ orderNumber: string; lines: number }>> {
    return this.events.transaction(
      async (tx) => {
        const m = tx.manager;
        const order = { tenantId: ctx.tenantId, warehouseId, orderNumber: input.orderNumber };
        const taken = () => conflict('ORDER.EXISTS', `order ${input.orderNumber} already exists`, 'orderNumber');
        await this.masterData.warehouse(m, ctx.tenantId, warehouseId);
        if (!(await this.masterData.partnerExists(m, ctx.tenantId, 'customer', input.customerCode)))
          throw notFound('CUSTOMER.UNKNOWN', `no customer ${input.customerCode}`, 'customerCode');
        if (await this.orders.exists(m, order)) throw taken();
        if (!(await this.orders.create(m, order, input.customerCode))) throw taken();
        const lines = [];
        for (const [i, l] of input.lines.entries()) {
          const product = await this.masterData.productByBarcode(
            m,
            ctx.tenantId,
            l.barcode,
            `lines[${i}].barcode`,
            true,
          );
          lines.push({ line: i + 1, sku: product.sku, quantity: l.quantity });
          await this.orders.addLine(m, order, i + 1, product.sku, l.quantity);
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
        const order = { tenantId: ctx.tenantId, warehouseId, orderNumber };
        await this.lockOrder(m, order, ['created'], 'ORDER.NOT_ALLOCATABLE');
        const lines = await this.orders.lines(order, m);
        const blocked = await this.masterData.blockedLocations(m, ctx.tenantId, warehouseId);
        const tasks: PickTask[] = [];
        for (const line of lines) {
          const before = await this.stock.available(m, ctx.tenantId, warehouseId, line.sku);
          const candidates = await this.stock.allocatable(m, ctx.tenantId, warehouseId, line.sku, blocked);
          let missing = line.quantity;
          for (const c of candidates) {
            if (missing === 0) break;
            const take = Math.min(missing, c.available);
            const stock = { sku: line.sku, locationCode: c.location_code, lot: c.lot };
            await this.stock.shift(m, { tenantId: ctx.tenantId, warehouseId, ...stock }, take, 'available', 'reserved');
            const task = { taskId: uuidv7(), line: line.line, ...stock, quantity: take, picked: 0, status: 'open' };
            await this.orders.addPickTask(m, order, {
              id: task.taskId,
              line: line.line,
              sku: line.sku,
              location_code: c.location_code,
              lot: c.lot,
              quantity: take,
            });
            await tx.publish('inventory.reserved', { warehouseId, ...stock, quantity: take, orderNumber }, ctx);
            await tx.publish(
              'pick.assigned',
              { warehouseId, orderNumber, taskId: task.taskId, line: line.line, ...stock, quantity: take },
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
          await this.thresholds.publishCrossings(tx, ctx, warehouseId, line.sku, before);
        }
        await this.orders.setStatus(m, order, 'allocated');
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
        const task = await this.orders.lockPickTask(m, ctx.tenantId, warehouseId, taskId);
        if (!task) throw notFound('PICK.UNKNOWN', `no pick task ${taskId} in warehouse ${warehouseId}`, 'taskId');
        const order = { tenantId: ctx.tenantId, warehouseId, orderNumber: task.order_number };
        // The order lock serialises picks with cancel, which releases the order's open reservations.
        await this.lockOrder(
          m,
          order,
          ['created', 'allocated', 'picked', 'packed', 'shipped', 'cancelled'],
          'ORDER.UNKNOWN',
        );
        task.status = await this.orders.pickTaskStatus(m, taskId);
        if (task.status !== 'open') throw conflict('PICK.NOT_OPEN', `pick task ${taskId} is ${task.status}`, 'taskId');
        if (input.locationCode !== task.location_code)
          throw conflict(
            'PICK.WRONG_LOCATION',
            `this task picks from ${task.location_code}, not ${input.locationCode}`,
            'locationCode',
          );
        const product = await this.masterData.productByBarcode(m, ctx.tenantId, input.barcode, 'barcode');
        if (product.sku !== task.sku)
          throw conflict('PICK.WRONG_ITEM', `this task picks ${task.sku}, not ${product.sku}`, 'barcode');
        if (input.quantity > task.quantity)
          throw conflict(
            'PICK.OVER_PICK',
            `this task picks ${task.quantity} unit(s); ${input.quantity} scanned — put the extra back`,
            'quantity',
          );
        await this.masterData.location(m, ctx.tenantId, warehouseId, task.location_code, 'locationCode');
        const stock = { sku: task.sku, locationCode: task.location_code, lot: task.lot };
        const key = { tenantId: ctx.tenantId, warehouseId, ...stock };
        await this.stock.shift(m, key, task.quantity, 'reserved', 'available');
        if (input.quantity > 0) await this.stock.decreaseAvailable(m, key, input.quantity);
        const short = input.quantity < task.quantity;
        const status = short ? 'short' : 'done';
        await this.orders.finishPickTask(m, taskId, input.quantity, status);
        await this.orders.addPicked(m, order, task.line, input.quantity);
        const base = { warehouseId, orderNumber: task.order_number, taskId, ...stock };
        if (short) {
          await tx.publish('pick.short', { ...base, requested: task.quantity, picked: input.quantity }, ctx);
          await tx.publish(
            'inventory.released',
            { warehouseId, ...stock, quantity: task.quantity - input.quantity, orderNumber: task.order_number },
            ctx,
          );
        } else {
          await tx.publish('pick.completed', { ...base, quantity: input.quantity }, ctx);
        }
        await this.orders.markPickedWhenNoTaskOpen(m, order);
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
        const order = { tenantId: ctx.tenantId, warehouseId, orderNumber };
        await this.lockOrder(tx.manager, order, ['picked'], 'ORDER.NOT_PICKED');
        // Every pick came up short with nothing: there is nothing to pack, nor to ship.
        if ((await this.orders.pickedUnits(tx.manager, order)) === 0)
          throw conflict('ORDER.NOTHING_PICKED', `order ${orderNumber} has no picked units to pack`, 'orderNumber');
        const ids = new Set(input.cartons.map((c) => c.cartonId));
        if (ids.size !== input.cartons.length)
          throw conflict('ORDER.DUPLICATE_CARTON', 'each carton id may appear once', 'cartons');
        for (const c of input.cartons) await this.orders.addCarton(tx.manager, order, c.cartonId, c.weightKg);
        await this.orders.setStatus(tx.manager, order, 'packed');
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
        const order = { tenantId: ctx.tenantId, warehouseId, orderNumber };
        await this.lockOrder(m, order, ['packed'], 'ORDER.NOT_PACKED');
        if (!(await this.masterData.partnerExists(m, ctx.tenantId, 'carrier', input.carrierCode)))
          throw notFound('CARRIER.UNKNOWN', `no carrier ${input.carrierCode}`, 'carrierCode');
        const cartons = await this.orders.cartonCount(m, order);
        await this.orders.ship(m, order, input.carrierCode, input.trackingNumber);
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
        const order = { tenantId: ctx.tenantId, warehouseId, orderNumber };
        await this.lockOrder(m, order, ['created', 'allocated'], 'ORDER.NOT_CANCELLABLE');
        if ((await this.orders.closedPickTaskCount(m, order)) > 0)
          throw conflict(
            'ORDER.NOT_CANCELLABLE',
            `order ${orderNumber} has picked lines; return the goods to stock first`,
            'orderNumber',
          );
        const open = await this.orders.openPickTasks(m, order);
        for (const t of open) {
          const stock = { sku: t.sku, locationCode: t.location_code, lot: t.lot };
          await this.stock.shift(
            m,
            { tenantId: ctx.tenantId, warehouseId, ...stock },
            t.quantity,
            'reserved',
            'available',
          );
          await this.orders.cancelPickTask(m, t.id);
          await tx.publish('inventory.released', { warehouseId, ...stock, quantity: t.quantity, orderNumber }, ctx);
        }
        await this.orders.setStatus(m, order, 'cancelled');
        await tx.publish('order.cancelled', { warehouseId, orderNumber, reason }, ctx);
        return { orderNumber, released: open.length };
      },
      idempotencyFor(ctx, 'order.cancel', { warehouseId, orderNumber, reason }),
    );
  }

  async get(tenantId: string, warehouseId: string, orderNumber: string): Promise<OrderView> {
    const ref = { tenantId, warehouseId, orderNumber };
    const order = await this.orders.find(ref);
    if (!order) throw notFound('ORDER.UNKNOWN', `no order ${orderNumber} in warehouse ${warehouseId}`, 'orderNumber');
    const lines = await this.orders.lines(ref);
    const tasks = await this.orders.pickTasks(ref);
    return {
      orderNumber,
      customerCode: order.customer_code,
      status: order.status,
      carrierCode: order.carrier_code,
      trackingNumber: order.tracking_number,
      lines,
      pickTasks: tasks.map(pickTask),
    };
  }

  private async lockOrder(m: EntityManager, order: OrderRef, allowed: OrderStatus[], code: string): Promise<void> {
    const { warehouseId, orderNumber } = order;
    const status = await this.orders.lockStatus(m, order);
    if (!status) throw notFound('ORDER.UNKNOWN', `no order ${orderNumber} in warehouse ${warehouseId}`, 'orderNumber');
    if (!allowed.includes(status))
      throw conflict(
        code,
        `order ${orderNumber} is ${status}; this needs it to be ${allowed.join(' or ')}`,
        'orderNumber',
      );
  }
}

const pickTask = (t: PickTaskRow): PickTask => ({
  taskId: t.id,
  line: t.line,
  sku: t.sku,
  locationCode: t.location_code,
  lot: t.lot,
  quantity: t.quantity,
  picked: t.picked,
  status: t.status,
});
