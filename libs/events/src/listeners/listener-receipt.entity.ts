import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One row per (listener, event) that a queued listener has handled: redelivery and replay never apply twice. */
@Entity({ name: 'listener_receipts' })
export class ListenerReceiptEntity {
  @PrimaryColumn('text')
  listener: string;

  @PrimaryColumn('uuid', { name: 'event_id' })
  eventId: string;

  @Column('timestamptz', { name: 'handled_at', default: () => 'now()' })
  handledAt: Date;
}
