import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { EventCatalog, EventMap, EventName, EventTypeDefinition } from '../catalog/event-catalog.js';
import type { EventEnvelope, PublishContext } from '../envelope/event-envelope.js';
import { newEventId } from '../envelope/event-id.js';
import { DomainError } from '../errors/domain-error.js';
import { EventStoreRepository } from '../store/event-store.repository.js';
import { unitOfWork } from '../database/unit-of-work.js';
import { EventDispatcher } from './event-dispatcher.service.js';
import { EventRecorder, type RecordRequest } from '../outbox/event-recorder.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { type FirstRequest, IdempotencyRepository } from '../idempotency/idempotency.repository.js';
import { EventsConfig } from '../config/events-config.js';
import { acceptedOccurredAt } from './occurred-at-window.js';

export interface PublishOptions {
  version?: number;
  /** When it happened, if not now: a strict ISO-8601 date-time inside the occurredAt window (occurred-at-window.ts). */
  occurredAt?: string;
}

/** What a unit of work sees: its transaction's manager, and a publish that commits with it. */
export interface EventTransaction {
  manager: EntityManager;
  publish<N extends EventName>(
    name: N,
    payload: EventMap[N],
    ctx: PublishContext,
    options?: PublishOptions,
  ): Promise<EventEnvelope>;
}

export interface IdempotencyOptions {
  tenantId: string;
  /** Whose key it is (`user:<id>`, `device:<id>`, `integration:<id>`): two callers may send the same key. */
  scope: string;
  key: string;
  /** Anything that identifies the request; a resend with the same key but another request is refused. */
  request: unknown;
}

/**
 * Which warehouses exist: the package that owns warehouses answers (libs/wms-domain's KnownWarehouses), so this
 * library needs neither its code nor its tables.
 */
export interface WarehouseDirectory {
  /** Whether the tenant has this warehouse. */
  has(tenantId: string, warehouseId: string): Promise<boolean>;
}

/** Who publishes from outside (POST /events): what they may publish for, and where warehouses are known. */
export interface PublisherScope {
  /** The warehouses the publisher may publish for; an event of another warehouse is refused (403). */
  warehouses: string[] | 'all';
  /** An event of a warehouse the tenant does not have is refused (404). */
  directory: WarehouseDirectory;
}

export interface Accepted {
  event: EventEnvelope;
  /** True when an earlier request with the same Idempotency-Key already recorded this event. */
  replayed: boolean;
}

/** One item of a batch from outside (POST /events/batch), its shape already checked. */
export interface BatchItem {
  name: string;
  version?: number;
  payload: unknown;
  occurredAt?: string;
  correlationId?: string;
  causationId?: string;
  /** The item's own key: a resend of the item with the same key and body is a replay. */
  idempotencyKey?: string;
}

/** What became of one batch item: its event's id, or why it was refused (fields as in a single request). */
export type BatchOutcome = { status: 'accepted' | 'replayed'; id: string } | { status: 'refused'; error: DomainError };

/** What a unit of work returns; the api answers with `result` and marks replays with `Idempotent-Replayed: true`. */
export class TransactionResult<T> {
  constructor(
    readonly result: T,
    /** True when an earlier request with the same Idempotency-Key already produced this result. */
    readonly replayed: boolean,
    /** The events the unit of work recorded (none for a replay). */
    readonly eventIds: string[] = [],
  ) {}
}

const hashOf = (request: unknown) => createHash('sha256').update(JSON.stringify(request)).digest('hex');

@Injectable()
export class EventService {
  private readonly logger = new Logger(EventService.name);

  constructor(
    private readonly db: DataSource,
    private readonly dispatcher: EventDispatcher,
    private readonly recorder: EventRecorder,
    private readonly store: EventStoreRepository,
    private readonly outbox: OutboxRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly config: EventsConfig,
  ) {}

  /** Publishes one event on its own, outside any domain change; durable in Postgres when this resolves. */
  async publish<N extends EventName>(
    name: N,
    payload: EventMap[N],
    ctx: PublishContext,
    options?: PublishOptions,
  ): Promise<EventEnvelope> {
    return (await this.recordOne(EventCatalog.resolve(name, options?.version), payload, ctx, options)).event;
  }

  /**
   * Validates and records one integration event from outside (POST /events): batched with concurrent
   * requests into one statement. With `idempotency`, a repeated key returns the event the first
   * request recorded, and records nothing. Domain events are refused: only their command emits them.
   */
  accept(
    name: string,
    payload: unknown,
    ctx: PublishContext,
    publisher: PublisherScope,
    options?: PublishOptions,
    idempotency?: IdempotencyOptions,
  ): Promise<Accepted> {
    return this.recordOne(
      EventCatalog.resolveExternal(name, options?.version),
      payload,
      ctx,
      options,
      idempotency,
      publisher,
    );
  }

  /**
   * Validates and records a batch of integration events, each on its own: a refused item changes nothing and does not
   * refuse the others. The accepted ones are recorded with the group-commit statement (one statement for up to 500,
   * shared with concurrent requests) and are durable when this resolves; a key already taken answers `replayed` with
   * the first event's id (same body) or refuses the item (another body). Only newly recorded events are dispatched.
   */
  async acceptBatch(
    items: BatchItem[],
    ctx: PublishContext,
    publisher: PublisherScope,
    idempotencyScope: string,
  ): Promise<BatchOutcome[]> {
    const outcomes: BatchOutcome[] = new Array(items.length);
    const known = new Map<string, Promise<boolean>>();
    const directory: WarehouseDirectory = {
      has: (tenantId, warehouseId) => {
        const key = `${tenantId}/${warehouseId}`;
        if (!known.has(key)) known.set(key, publisher.directory.has(tenantId, warehouseId));
        return known.get(key)!;
      },
    };
    const requests: { index: number; request: RecordRequest }[] = [];
    await Promise.all(
      items.map(async (item, index) => {
        try {
          const definition = EventCatalog.resolveExternal(item.name, item.version);
          const envelope = this.envelope(
            definition,
            EventCatalog.checkPayload(definition, item.payload),
            { ...ctx, correlationId: item.correlationId ?? ctx.correlationId, causationId: item.causationId },
            item,
          );
          await this.assertPublishable(envelope, { warehouses: publisher.warehouses, directory });
          const { idempotencyKey } = item;
          // In a fixed order, so a resend with its fields in another order is still the same request.
          const request = {
            route: 'POST /events/batch',
            name: item.name,
            version: item.version ?? null,
            payload: item.payload,
            occurredAt: item.occurredAt ?? null,
            correlationId: item.correlationId ?? null,
            causationId: item.causationId ?? null,
          };
          requests.push({
            index,
            request: {
              envelope,
              idempotency:
                idempotencyKey == null
                  ? undefined
                  : {
                      scope: idempotencyScope,
                      key: idempotencyKey,
                      requestHash: hashOf(request),
                    },
            },
          });
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          outcomes[index] = { status: 'refused', error };
        }
      }),
    );
    requests.sort((a, b) => a.index - b.index);
    // Pushed in one tick, so the batcher records them together (in item order: positions follow it).
    const recorded = await Promise.all(
      requests.map(({ request }) =>
        this.recorder.record(request).then(
          (position) => position,
          (error: Error) => error,
        ),
      ),
    );
    const accepted: EventEnvelope[] = [];
    const taken: { index: number; request: RecordRequest }[] = [];
    recorded.forEach((position, i) => {
      const { index, request } = requests[i];
      if (position instanceof Error) {
        this.logger.warn({ eventId: request.envelope.id, error: position.message }, 'batch item not recorded');
        outcomes[index] = {
          status: 'refused',
          error: new DomainError(
            'EVENTS.NOT_RECORDED',
            'the event could not be recorded now; send it again (with an idempotencyKey a resend is never stored twice)',
            'unavailable',
          ),
        };
      } else if (position === null) taken.push(requests[i]);
      else {
        request.envelope.streamPosition = position;
        accepted.push(request.envelope);
        outcomes[index] = { status: 'accepted', id: request.envelope.id };
      }
    });
    if (taken.length) {
      const first = await this.idempotency.firstRequests(
        ctx.tenantId,
        idempotencyScope,
        taken.map((t) => t.request.idempotency!.key),
      );
      for (const { index, request } of taken) {
        const earlier = first.get(request.idempotency!.key);
        outcomes[index] =
          earlier?.eventId && earlier.requestHash === request.idempotency!.requestHash
            ? { status: 'replayed', id: earlier.eventId }
            : {
                status: 'refused',
                error: new DomainError(
                  'IDEMPOTENCY.KEY_REUSED',
                  'this idempotencyKey was already used for a different event; send a new key for a new event',
                  'unprocessable',
                  [{ field: 'idempotencyKey', reason: 'already used for a different request' }],
                ),
              };
      }
    }
    this.dispatcher.dispatch(accepted);
    return outcomes;
  }

  private async recordOne(
    definition: EventTypeDefinition,
    payload: unknown,
    ctx: PublishContext,
    options?: PublishOptions,
    idempotency?: IdempotencyOptions,
    publisher?: PublisherScope,
  ): Promise<Accepted> {
    const envelope = this.envelope(definition, EventCatalog.checkPayload(definition, payload), ctx, options);
    if (publisher) await this.assertPublishable(envelope, publisher);
    const requestHash = idempotency ? hashOf(idempotency.request) : '';
    const position = await this.recorder.record({
      envelope,
      idempotency: idempotency && { scope: idempotency.scope, key: idempotency.key, requestHash },
    });
    if (position === null) return { event: await this.replayEvent(idempotency!, requestHash), replayed: true };
    envelope.streamPosition = position;
    this.dispatcher.dispatch([envelope]);
    return { event: envelope, replayed: false };
  }

  /** The publisher may publish for the event's warehouse (403 otherwise), and the tenant has it (404 otherwise). */
  private async assertPublishable({ tenantId, warehouseId }: EventEnvelope, publisher: PublisherScope): Promise<void> {
    if (publisher.warehouses !== 'all' && (warehouseId === null || !publisher.warehouses.includes(warehouseId))) {
      const reason =
        warehouseId === null
          ? 'tenant-wide events need a credential for every warehouse'
          : `not allowed to publish for warehouse ${warehouseId}`;
      throw new DomainError('AUTH.FORBIDDEN_WAREHOUSE', reason, 'forbidden', [
        { field: 'payload.warehouseId', reason },
      ]);
    }
    if (warehouseId !== null && !(await publisher.directory.has(tenantId, warehouseId))) {
      const reason = `no warehouse ${warehouseId} in this tenant`;
      throw new DomainError('WAREHOUSE.UNKNOWN', reason, 'not_found', [{ field: 'payload.warehouseId', reason }]);
    }
  }

  /**
   * Runs `work` in one transaction. Events it publishes are recorded in that transaction, so a domain
   * change and its events commit together or not at all, and are dispatched only after commit.
   * With `idempotency`, a repeated key returns the first result and runs nothing.
   */
  async transaction<T>(
    work: (tx: EventTransaction) => Promise<T>,
    idempotency?: IdempotencyOptions,
  ): Promise<TransactionResult<T>> {
    const requestHash = idempotency ? hashOf(idempotency.request) : '';
    let published: EventEnvelope[] = [];
    const outcome = await unitOfWork(this.db, async (manager) => {
      published = [];
      if (idempotency) {
        if (!(await this.idempotency.claim(manager, { ...idempotency, requestHash })))
          return { replayed: true as const };
      }
      // Typed or not, every payload is validated against its schema before it is recorded.
      const publish = async (name: string, payload: unknown, ctx: PublishContext, options?: PublishOptions) => {
        const definition = EventCatalog.resolve(name, options?.version);
        return this.record(
          manager,
          definition,
          EventCatalog.checkPayload(definition, payload),
          ctx,
          options,
          published,
        );
      };
      const tx: EventTransaction = { manager, publish };
      const result = await work(tx);
      if (idempotency) await this.idempotency.saveResult(manager, idempotency, result);
      return { replayed: false as const, result };
    });
    if (outcome.replayed) return new TransactionResult(await this.replay<T>(idempotency!, requestHash), true);
    this.dispatcher.dispatch(published);
    return new TransactionResult(
      outcome.result,
      false,
      published.map((e) => e.id),
    );
  }

  private async replay<T>(idempotency: IdempotencyOptions, requestHash: string): Promise<T> {
    return ((await this.firstRequest(idempotency, requestHash)).response as { result: T }).result;
  }

  private async replayEvent(idempotency: IdempotencyOptions, requestHash: string): Promise<EventEnvelope> {
    const { eventId } = await this.firstRequest(idempotency, requestHash);
    // Until the worker has stored it, the event is in the outbox; afterwards in the store.
    return (await this.outbox.envelope(eventId!)) ?? this.store.findById(idempotency.tenantId, eventId!);
  }

  private async firstRequest(idempotency: IdempotencyOptions, requestHash: string): Promise<FirstRequest> {
    const first = await this.idempotency.firstRequest(idempotency);
    if (first?.requestHash !== requestHash) {
      throw new DomainError(
        'IDEMPOTENCY.KEY_REUSED',
        'this Idempotency-Key was already used for a different request; send a new key for a new request',
        'unprocessable',
        [{ field: 'Idempotency-Key', reason: 'already used for a different request' }],
      );
    }
    return first;
  }

  private async record(
    manager: EntityManager,
    definition: EventTypeDefinition,
    payload: object,
    ctx: PublishContext,
    options: PublishOptions | undefined,
    published: EventEnvelope[],
  ): Promise<EventEnvelope> {
    const envelope = this.envelope(definition, payload, ctx, options);
    envelope.streamPosition = await this.recorder.recordIn(manager, envelope);
    published.push(envelope);
    return envelope;
  }

  /** Enriches a validated payload; the stream position is set when the event is recorded. */
  private envelope(
    definition: EventTypeDefinition,
    payload: object,
    ctx: PublishContext,
    options: PublishOptions | undefined,
  ): EventEnvelope {
    return enrichEnvelope(definition, payload, ctx, this.config, options?.occurredAt);
  }
}

/**
 * An event of a validated payload as it is recorded: id (UUIDv7), times, actor, tenant and warehouse, correlation,
 * aggregate; the stream position is set when it is recorded. `occurredAt` (else the context's) is the caller's, within
 * OFFLINE_ACCEPT_DAYS; null is "not given", as for the DTO's @IsOptional.
 */
export function enrichEnvelope(
  definition: EventTypeDefinition,
  payload: object,
  ctx: PublishContext,
  config: Pick<EventsConfig, 'OFFLINE_ACCEPT_DAYS'>,
  occurredAt?: string | null,
): EventEnvelope {
  const id = newEventId();
  const now = new Date().toISOString();
  return {
    id,
    name: definition.name,
    version: definition.version,
    occurredAt: acceptedOccurredAt(occurredAt ?? ctx.occurredAt, config, now),
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
}
