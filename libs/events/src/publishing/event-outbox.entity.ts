import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { EventEnvelope } from '../envelope/event-envelope.js';

/**
 * Persistent contract: events accepted but not yet processed by the worker. A row is written in the
 * publisher's transaction and deleted once the event is stored, broadcast and fanned out.
 */
@Entity({ name: 'event_outbox' })
@Index('event_outbox_created_at_idx', ['createdAt'])
export class EventOutboxEntity {
  @PrimaryColumn('uuid')
  id: string;

  @Column('jsonb')
  envelope: EventEnvelope;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

/** The last stream position handed out per aggregate; the row lock serialises publishers of one stream. */
@Entity({ name: 'event_streams' })
export class EventStreamEntity {
  @PrimaryColumn('text', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('text', { name: 'aggregate_type' })
  aggregateType: string;

  @PrimaryColumn('text', { name: 'aggregate_id' })
  aggregateId: string;

  @Column('bigint')
  position: string;
}
