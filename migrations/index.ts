import { EventPipeline1764000000000 } from './1764000000000-event-pipeline.js';
import { WarehouseModel1764100000000 } from './1764100000000-warehouse-model.js';
import { Identity1764200000000 } from './1764200000000-identity.js';
import { Notifications1764300000000 } from './1764300000000-notifications.js';
import { DeadLetterAdmin1764400000000 } from './1764400000000-dead-letter-admin.js';
import { Access1764500000000 } from './1764500000000-access.js';
import { RecipientFailures1764510000000 } from './1764510000000-recipient-failures.js';
import { TenantBacklog1764520000000 } from './1764520000000-tenant-backlog.js';
import { ReceiptLatency1764600000000 } from './1764600000000-receipt-latency.js';
import { PartitionedEventStore1764700000000 } from './1764700000000-partitioned-event-store.js';
import { TableLifetimes1764710000000 } from './1764710000000-table-lifetimes.js';
import { EventArchive1764730000000 } from './1764730000000-event-archive.js';
import { ListenerRebuilds1764750000000 } from './1764750000000-listener-rebuilds.js';
import { Rollups1764800000000 } from './1764800000000-rollups.js';
import { SharedInstanceState1764810000000 } from './1764810000000-shared-instance-state.js';
import { EventSearch1764900000000 } from './1764900000000-event-search.js';
import { CoveringRollupKeys1764920000000 } from './1764920000000-covering-rollup-keys.js';
import { UnscopedIdempotencyKeys1764930000000 } from './1764930000000-unscoped-idempotency-keys.js';

/** Every migration, in order. The only way the schema changes. */
export const migrations = [
  EventPipeline1764000000000,
  WarehouseModel1764100000000,
  Identity1764200000000,
  Notifications1764300000000,
  DeadLetterAdmin1764400000000,
  Access1764500000000,
  RecipientFailures1764510000000,
  TenantBacklog1764520000000,
  ReceiptLatency1764600000000,
  PartitionedEventStore1764700000000,
  TableLifetimes1764710000000,
  EventArchive1764730000000,
  ListenerRebuilds1764750000000,
  Rollups1764800000000,
  SharedInstanceState1764810000000,
  EventSearch1764900000000,
  CoveringRollupKeys1764920000000,
  UnscopedIdempotencyKeys1764930000000,
];
