import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The first response to a request carrying an Idempotency-Key, replayed for every resend. */
@Entity({ name: 'idempotency_keys' })
export class IdempotencyKeyEntity {
  @PrimaryColumn('text', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('text')
  key: string;

  @Column('text', { name: 'request_hash' })
  requestHash: string;

  /** For a single published event: the event, from which the response is rebuilt. */
  @Column('uuid', { name: 'event_id', nullable: true })
  eventId: string | null;

  /** For a unit of work: its stored result. */
  @Column('jsonb', { nullable: true })
  response: unknown;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}
