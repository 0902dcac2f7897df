import { Injectable } from '@nestjs/common';
import type { WarehouseDirectory } from '@wms/events';
import { DataSource } from 'typeorm';
import { MasterDataRepository } from './master-data.repository.js';

/**
 * Which warehouses each tenant has, for POST /events (the hot path): EventService asks before it records an event.
 * Warehouses are never deleted, deactivated or renamed, so one that exists stays: it is remembered for the life of
 * the process and costs nothing after the first event. Only codes not seen yet — a refused request, or a warehouse
 * created since (on any api instance) — are looked up, so a new warehouse is accepted at once. The memory is bounded
 * by the warehouses that exist. (A command that removes warehouses would have to forget them here, on every instance.)
 */
@Injectable()
export class KnownWarehouses implements WarehouseDirectory {
  private readonly known = new Map<string, Set<string>>();

  constructor(
    private readonly db: DataSource,
    private readonly masterData: MasterDataRepository,
  ) {}

  async has(tenantId: string, warehouseId: string): Promise<boolean> {
    if (this.known.get(tenantId)?.has(warehouseId)) return true;
    if (!(await this.masterData.hasWarehouse(this.db.manager, tenantId, warehouseId))) return false;
    let codes = this.known.get(tenantId);
    if (!codes) this.known.set(tenantId, (codes = new Set()));
    codes.add(warehouseId);
    return true;
  }
}
