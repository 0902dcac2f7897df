import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { CommitNotices, EventsConfig } from '@wms/events';

/** Which master data changed: a product (by SKU) or a location of a warehouse. */
export type MasterDataChange =
  | { kind: 'product'; tenantId: string; sku: string }
  | { kind: 'location'; tenantId: string; warehouseId: string; code: string };

// Persistent contract between processes of different versions: renaming the channel or the notice's shape
// leaves older processes serving stale master data until they are restarted.
const CHANNEL = 'wms_master_data_changed';

function parseChange(payload: string): MasterDataChange | null {
  const c = JSON.parse(payload) as Partial<Record<string, unknown>>;
  const text = (...keys: string[]) => keys.every((k) => typeof c[k] === 'string');
  if (c.kind === 'product' && text('tenantId', 'sku')) return c as MasterDataChange;
  if (c.kind === 'location' && text('tenantId', 'warehouseId', 'code')) return c as MasterDataChange;
  return null;
}

/**
 * Tells every process, when (and only if) a change of master data commits, to drop what it cached of it
 * (MasterDataRepository's products and locations): NOTIFY in the changing transaction.
 */
@Injectable()
export class MasterDataChanges extends CommitNotices<MasterDataChange> implements OnApplicationShutdown {
  constructor(config: EventsConfig) {
    super(config.DATABASE_URL, CHANNEL, parseChange);
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}
