import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { EventCatalog, EventMap, EventName, EventTypeDefinition } from '../catalog/event-catalog.js';
import type { EventEnvelope, PublishContext } from '../envelope/event-envelope.js';
import { DomainError } from '../errors/domain-error.js';
import { EventDispatcher } from './event-dispatcher.service.js';

export interface PublishOptions {
  version?: number;
  occurredAt?: string;
}

/** What a unit of work sees: its transaction's manager, and a publish that commits with it. */
export interface EventTransaction {
  manager: EntityManager;
  publish<N extends EventName>(name: N, payload: EventMap[N], ctx: PublishContext, options?: PublishOptions): Promise<EventEnvelope>;
  publishUnchecked(name: string, payload: unknown, ctx: PublishContext, options?: PublishOptions): Promise<EventEnvelope>;
}

export interface IdempotencyOptions {
  tenantId: string;
  key: string;
  /** Anything that identifies the request; a resend with the same key but another request is refused. */
  request: unknown;
}

export interface TransactionResult<T> {
  result: T;
  /** True when an earlier request with the same Idempotency-Key already produced this result. */
  replayed: boolean;
}

// One round trip: take the next gap-free position of the stream and write the outbox row.
// The upsert's row lock serialises publishers of one stream until their transaction ends.
const RECORD_SQL = `
  WITH s AS (
    INSERT INTO event_streams (tenant_id, aggregate_type, aggregate_id, position) VALUES ($1, $2, $3, 1)
    ON CONFLICT (tenant_id, aggregate_type, aggregate_id) DO UPDATE SET position = event_streams.position + 1
    RETURNING position)
  INSERT INTO event_outbox (id, envelope)
  SELECT $4, jsonb_set($5::jsonb, '{streamPosition}', to_jsonb(s.position)) FROM s
  RETURNING (envelope->>'streamPosition')::bigint AS position`;

@Injectable()
export class EventService {
  constructor(
    private readonly db: DataSource,
    private readonly dispatcher: EventDispatcher,
  ) {}

  /** Publishes one event in its own transaction; durable in Postgres when this resolves. */
  async publish<N extends EventName>(name: N, payload: EventMap[N], ctx: PublishContext, options?: PublishOptions): Promise<EventEnvelope> {
    const { result } = await this.transaction((tx) => tx.publish(name, payload, ctx, options));
    return result;
  }

  /**
   * Runs `work` in one transaction. Events it publishes are recorded in that transaction, so a domain
   * change and its events commit together or not at all, and are dispatched only after commit.
   * With `idempotency`, a repeated key returns the first result and runs nothing.
   */
  async transaction<T>(work: (tx: EventTransaction) => Promise<T>, idempotency?: IdempotencyOptions): Promise<TransactionResult<T>> {
    const requestHash = idempotency ? createHash('sha256').update(JSON.stringify(idempotency.request)).digest('hex') : '';
    const published: EventEnvelope[] = [];
    const outcome = await this.db.transaction(async (manager) => {
      if (idempotency) {
        // A concurrent resend blocks here on the key's unique index until the first request commits.
        const claimed = await manager.query(
          `INSERT INTO idempotency_keys (tenant_id, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING key`,
          [idempotency.tenantId, idempotency.key, requestHash],
        );
        if (claimed.length === 0) return { replayed: true as const };
      }
      const tx: EventTransaction = {
        manager,
        publish: (name, payload, ctx, options) => this.record(manager, EventCatalog.resolve(name, options?.version), payload, ctx, options, published),
        publishUnchecked: async (name, payload, ctx, options) => {
          const definition = EventCatalog.resolve(name, options?.version);
          return this.record(manager, definition, await EventCatalog.validatePayload(definition, payload), ctx, options, published);
        },
      };
      const result = await work(tx);
      if (idempotency) {
        await manager.query(`UPDATE idempotency_keys SET response = $3 WHERE tenant_id = $1 AND key = $2`, [idempotency.tenantId, idempotency.key, JSON.stringify({ result })]);
      }
      return { replayed: false as const, result };
    });
    if (outcome.replayed) return { replayed: true, result: await this.replay<T>(idempotency!, requestHash) };
    this.dispatcher.dispatch(published);
    return { replayed: false, result: outcome.result };
  }

  private async replay<T>(idempotency: IdempotencyOptions, requestHash: string): Promise<T> {
    const [row] = await this.db.query(`SELECT request_hash, response FROM idempotency_keys WHERE tenant_id = $1 AND key = $2`, [idempotency.tenantId, idempotency.key]);
    if (row.request_hash !== requestHash) {
      throw new DomainError('IDEMPOTENCY.KEY_REUSED', 'this Idempotency-Key was already used for a different request; send a new key for a new request', 'unprocessable', [
        { field: 'Idempotency-Key', reason: 'already used for a different request' },
      ]);
    }
    return (row.response as { result: T }).result;
  }

  private async record(
    manager: EntityManager,
    definition: EventTypeDefinition<any>,
    payload: object,
    ctx: PublishContext,
    options: PublishOptions | undefined,
    published: EventEnvelope[],
  ): Promise<EventEnvelope> {
    const id = uuidv7();
    const now = new Date().toISOString();
    const envelope: EventEnvelope = {
      id,
      name: definition.name,
      version: definition.version,
      occurredAt: options?.occurredAt ?? now,
      recordedAt: now,
      source: ctx.source,
      actor: ctx.actor,
      tenantId: ctx.tenantId,
      warehouseId: definition.warehouseId?.(payload) ?? ctx.warehouseId ?? null,
      correlationId: ctx.correlationId ?? id,
      causationId: ctx.causationId ?? null,
      aggregateType: definition.aggregateType,
      aggregateId: definition.aggregateId(payload),
      streamPosition: 0,
      payload: { ...payload } as Record<string, unknown>,
    };
    const [row] = await manager.query(RECORD_SQL, [envelope.tenantId, envelope.aggregateType, envelope.aggregateId, id, JSON.stringify(envelope)]);
    envelope.streamPosition = Number(row.position);
    published.push(envelope);
    return envelope;
  }
}
