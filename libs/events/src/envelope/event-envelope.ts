export interface EventActor {
  type: 'user' | 'device' | 'integration' | 'system';
  id: string;
}

/** The stable contract of every event, stored, queued and broadcast as-is. Adding a field is safe; renaming one is not. */
export interface EventEnvelope<P = Record<string, unknown>> {
  /** UUIDv7: time-ordered, so ids sort by publish time. */
  id: string;
  name: string;
  version: number;
  occurredAt: string;
  recordedAt: string;
  source: string;
  actor: EventActor;
  tenantId: string;
  warehouseId: string | null;
  correlationId: string;
  causationId: string | null;
  aggregateType: string;
  aggregateId: string;
  /** 1, 2, 3 … without gaps within (tenantId, aggregateType, aggregateId). */
  streamPosition: number;
  payload: P;
}

/** Who and where an event comes from; the api builds it from the request, the worker from the causing event. */
export interface PublishContext {
  tenantId: string;
  warehouseId?: string | null;
  actor: EventActor;
  source: string;
  correlationId?: string;
  causationId?: string | null;
  /**
   * When it happened, if the caller says so (a scanner that was offline sends its scan time): the events' occurredAt,
   * inside the occurredAt window (occurred-at-window.ts). A publish's own `occurredAt` option comes first.
   */
  occurredAt?: string;
}
