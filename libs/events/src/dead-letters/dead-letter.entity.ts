import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type DeadLetterStatus = 'open' | 'retried' | 'discarded' | 'resolved';

export interface FailedAttempt {
  at: string;
  error: string;
}

/** A job whose attempts ran out, with what an admin needs to decide: payload, error, history. */
@Entity({ name: 'dead_letters' })
@Index('dead_letters_status_idx', ['tenantId', 'status', 'lastFailedAt'])
@Index('dead_letters_fingerprint_idx', ['fingerprint'])
export class DeadLetterEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column('text', { name: 'tenant_id', nullable: true })
  tenantId: string | null;

  @Column('text')
  queue: string;

  @Column('text', { name: 'job_name' })
  jobName: string;

  @Column('text', { name: 'job_id' })
  jobId: string;

  @Column('uuid', { name: 'event_id', nullable: true })
  eventId: string | null;

  @Column('text', { name: 'event_name', nullable: true })
  eventName: string | null;

  @Column('jsonb')
  payload: unknown;

  @Column('text', { name: 'error_message' })
  errorMessage: string;

  @Column('text', { name: 'error_stack', nullable: true })
  errorStack: string | null;

  @Column('text')
  fingerprint: string;

  @Column('int')
  attempts: number;

  @Column('jsonb', { default: () => "'[]'::jsonb" })
  history: FailedAttempt[];

  @Column('timestamptz', { name: 'first_failed_at' })
  firstFailedAt: Date;

  @Column('timestamptz', { name: 'last_failed_at' })
  lastFailedAt: Date;

  @Column('text', { default: 'open' })
  status: DeadLetterStatus;

  @Column('text', { name: 'warehouse_id', nullable: true })
  warehouseId: string | null;

  /** How often an admin retried it; a retry that fails again comes back to this row (retry lineage). */
  @Column('int', { default: 0 })
  retries: number;

  /** Why and by whom it was last retried, discarded or resolved. */
  @Column('text', { name: 'status_reason', nullable: true })
  statusReason: string | null;

  @Column('text', { name: 'status_by', nullable: true })
  statusBy: string | null;

  @Column('timestamptz', { name: 'status_at', nullable: true })
  statusAt: Date | null;
}
