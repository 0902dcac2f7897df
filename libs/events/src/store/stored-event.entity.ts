import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { EventActor } from '../envelope/event-envelope.js';

/** Persistent contract: the append-only event store. Rows are inserted once (ON CONFLICT (id) DO NOTHING) and never updated. */
@Entity({ name: 'event_store' })
@Index('event_store_stream_position_uq', ['tenantId', 'aggregateType', 'aggregateId', 'streamPosition'], {
  unique: true,
})
@Index('event_store_name_idx', ['tenantId', 'name', 'id'])
@Index('event_store_warehouse_idx', ['tenantId', 'warehouseId', 'id'])
@Index('event_store_occurred_at_idx', ['tenantId', 'occurredAt'])
@Index('event_store_correlation_idx', ['correlationId'])
export class StoredEventEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('text')
  name: string;

  @Column('int')
  version: number;

  @Column('timestamptz', { name: 'occurred_at' })
  occurredAt: Date;

  @Column('timestamptz', { name: 'recorded_at' })
  recordedAt: Date;

  @Column('timestamptz', { name: 'stored_at', default: () => 'now()' })
  storedAt: Date;

  @Column('text')
  source: string;

  @Column('jsonb')
  actor: EventActor;

  @Column('text', { name: 'warehouse_id', nullable: true })
  warehouseId: string | null;

  @Column('uuid', { name: 'correlation_id' })
  correlationId: string;

  @Column('uuid', { name: 'causation_id', nullable: true })
  causationId: string | null;

  @Column('text', { name: 'aggregate_type' })
  aggregateType: string;

  @Column('text', { name: 'aggregate_id' })
  aggregateId: string;

  @Column('bigint', { name: 'stream_position' })
  streamPosition: string;

  @Column('jsonb')
  payload: Record<string, unknown>;
}
