import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventCatalog, type EventMap, type EventName, type EventTypeDefinition } from '../catalog/event-catalog.js';
import { EventsConfig } from '../config/events-config.js';
import { commitOutcomeUnknown, databaseUnavailable, isConnectionLost } from '../database/unit-of-work.js';
import { retryOnConflict } from '../database/retry-on-conflict.js';
import { preparedQuery } from '../database/prepared.js';
import { numberedSql } from '../outbox/event-recorder.js';
import type { EventEnvelope, PublishContext } from '../envelope/event-envelope.js';
import { DomainError } from '../errors/domain-error.js';
import { IdempotencyRepository } from '../idempotency/idempotency.repository.js';
import { EventDispatcher } from './event-dispatcher.service.js';
import { enrichEnvelope, type IdempotencyOptions, TransactionResult } from './event.service.js';

/**
 * The guard every write of a statement command must be conditional on: false when its Idempotency-Key is held by a
 * request from before keys were scoped to their caller (scope '').
 */
export const CLAIMABLE = '(SELECT free FROM claimable)';

/** The domain's part of a statement command: CTEs (without `WITH`) numbered from $1. */
export interface StatementChange {
  /**
   * Must define `outcome`: exactly one row, with a boolean column `applied` — true when the change was made, and
   * then only. Every write must be conditional on CLAIMABLE.
   */
  ctes: string;
  params: unknown[];
}

/** An event the change publishes when it is applied. */
export interface StatementEvent<N extends EventName = EventName> {
  name: N;
  /** Validated here, before the statement runs; fields in `fromOutcome` carry a placeholder of the right type. */
  payload: EventMap[N];
  /** SQL condition over `outcome`'s columns: the event is published only when it holds (default: always). */
  when?: string;
  /** Payload fields (integers) taken from `outcome`'s columns at write time: field → column. */
  fromOutcome?: Record<string, string>;
}

const IDENT = /^[a-z_][a-z0-9_]*$/i;
const MAX_VALIDATED = 10_000;
const hashOf = (request: unknown) => createHash('sha256').update(JSON.stringify(request)).digest('hex');

/**
 * A command in ONE autocommit statement — one round trip instead of a dozen awaited queries in a transaction — for
 * the scanner's hot path. The statement makes the domain change, takes gap-free stream positions, writes the outbox
 * rows and claims the Idempotency-Key together, so they commit together or not at all; an invalid event is refused
 * before anything is sent. A resend of a key already committed fails the claim (unique violation, the statement
 * rolled back whole) and answers the first outcome; a concurrent resend waits on the key until the first commits.
 */
@Injectable()
export class StatementCommands {
  private readonly valid = new Map<string, object>();

  constructor(
    private readonly db: DataSource,
    private readonly dispatcher: EventDispatcher,
    private readonly idempotency: IdempotencyRepository,
    private readonly config: EventsConfig,
  ) {}

  /**
   * Runs the change; `answer` turns its outcome row into the result (or throws the coded error of a change that was
   * not applied). The outcome of an applied change is kept with the key, so a resend gets the same answer.
   */
  async run<O extends { applied: boolean }, R>(
    ctx: PublishContext,
    change: StatementChange,
    events: StatementEvent[],
    idempotency: IdempotencyOptions | undefined,
    answer: (outcome: O) => R,
  ): Promise<TransactionResult<R>> {
    const envelopes = await Promise.all(events.map((e) => this.envelope(e, ctx)));
    const requestHash = idempotency ? hashOf(idempotency.request) : '';
    const { sql, params } = this.statement(change, events, envelopes, idempotency, requestHash);
    let row: { outcome: O; recorded: EventEnvelope[]; free: boolean };
    try {
      [row] = await retryOnConflict(() => preparedQuery<typeof row>(this.db, sql, params));
    } catch (error) {
      const e = error as { code?: string; constraint?: string };
      if (idempotency && e.code === '23505' && e.constraint === 'idempotency_keys_pkey')
        return new TransactionResult(await this.replay(idempotency, requestHash, answer), true);
      if (isConnectionLost(error)) throw this.sent(error) ? commitOutcomeUnknown() : databaseUnavailable();
      throw error;
    }
    if (idempotency && !row.free)
      return new TransactionResult(await this.replay(idempotency, requestHash, answer), true);
    const result = answer(row.outcome);
    const byId = new Map(row.recorded.map((e) => [e.id, e]));
    const published = envelopes.flatMap((e) => {
      const recorded = byId.get(e.id);
      return recorded ? [{ ...e, streamPosition: Number(recorded.streamPosition), payload: recorded.payload }] : [];
    });
    this.dispatcher.dispatch(published);
    return new TransactionResult(
      result,
      false,
      published.map((e) => e.id),
    );
  }

  /** A connection that could not be had sent nothing; one lost under a sent statement may have committed it. */
  private sent(error: unknown): boolean {
    const e = error as { code?: string; message?: string };
    return !(e.code === 'ECONNREFUSED' || e.message?.includes('timeout exceeded when trying to connect'));
  }

  private async replay<O, R>(idempotency: IdempotencyOptions, requestHash: string, answer: (o: O) => R): Promise<R> {
    const first = await this.idempotency.firstRequest(idempotency);
    if (first?.requestHash !== requestHash)
      throw new DomainError(
        'IDEMPOTENCY.KEY_REUSED',
        'this Idempotency-Key was already used for a different request; send a new key for a new request',
        'unprocessable',
        [{ field: 'Idempotency-Key', reason: 'already used for a different request' }],
      );
    const response = first.response as { outcome?: O; result?: R };
    return response.outcome !== undefined ? answer(response.outcome) : (response.result as R);
  }

  private statement(
    change: StatementChange,
    events: StatementEvent[],
    envelopes: EventEnvelope[],
    idempotency: IdempotencyOptions | undefined,
    requestHash: string,
  ): { sql: string; params: unknown[] } {
    const params = [...change.params];
    const p = (value: unknown) => `$${params.push(value)}`;
    const claimable = idempotency
      ? `SELECT NOT EXISTS (
           SELECT 1 FROM idempotency_keys WHERE tenant_id = ${p(idempotency.tenantId)} AND scope = '' AND key = ${p(idempotency.key)}
         ) AS free`
      : `SELECT true AS free`;
    const input = envelopes.map((envelope, ord) => ({
      ord,
      id: envelope.id,
      tenant: envelope.tenantId,
      atype: envelope.aggregateType,
      aid: envelope.aggregateId,
      envelope,
    }));
    const column = (c: string) => {
      if (!IDENT.test(c)) throw new Error(`not a column name: ${c}`);
      return `outcome.${c}`;
    };
    const patched = events.map((e) =>
      Object.entries(e.fromOutcome ?? {}).reduce(
        (sql, [field, c]) =>
          `jsonb_set(${sql}, '{payload,${field.replace(/[^A-Za-z0-9_]/g, '')}}', to_jsonb(${column(c)}))`,
        'input.envelope',
      ),
    );
    const cases = (items: string[], fallback: string) =>
      items.length
        ? `CASE input.ord ${items.map((s, i) => `WHEN ${i} THEN ${s}`).join(' ')} ELSE ${fallback} END`
        : fallback;
    const claim = idempotency
      ? `, claim AS (
           INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, response)
           SELECT ${p(idempotency.tenantId)}, ${p(idempotency.scope)}, ${p(idempotency.key)}, ${p(requestHash)},
                  jsonb_build_object('outcome', to_jsonb(outcome))
           FROM outcome
           WHERE outcome.applied
         )`
      : '';
    const sql = `
      WITH claimable AS (${claimable}),
      ${change.ctes},
      input AS (
        SELECT * FROM jsonb_to_recordset(${p(JSON.stringify(input))}::jsonb)
          AS x(ord int, id uuid, tenant text, atype text, aid text, envelope jsonb)
      ),
      accepted AS (
        SELECT input.ord, input.id, input.tenant, input.atype, input.aid, ${cases(patched, 'input.envelope')} AS envelope
        FROM input
        CROSS JOIN outcome
        WHERE outcome.applied AND ${cases(
          events.map((e) => `(${e.when ?? 'true'})`),
          'true',
        )}
      ),
      ${numberedSql},
      recorded AS (
        INSERT INTO event_outbox (id, envelope)
        SELECT id, jsonb_set(envelope, '{streamPosition}', to_jsonb(position)) FROM numbered
        RETURNING envelope
      )${claim}
      SELECT to_jsonb(outcome) AS outcome,
             (SELECT coalesce(jsonb_agg(envelope), '[]'::jsonb) FROM recorded) AS recorded,
             (SELECT free FROM claimable) AS free
      FROM outcome`;
    return { sql, params };
  }

  /**
   * The payload as the catalog validates it. Scanners send the same few payloads over and over (the threshold
   * events' placeholders on every scan): a payload validated once is not validated again. Validation depends on
   * the payload alone, so the answer is the same.
   */
  private async validated(definition: EventTypeDefinition, payload: unknown): Promise<object> {
    const key = `${definition.name}@${definition.version}:${JSON.stringify(payload)}`;
    const known = this.valid.get(key);
    if (known) return known;
    const checked = await EventCatalog.validatePayload(definition, payload);
    if (this.valid.size >= MAX_VALIDATED) this.valid.clear();
    this.valid.set(key, checked);
    return checked;
  }

  /** Enriches a validated payload, as EventService does; the stream position is set when it is recorded. */
  private async envelope(e: StatementEvent, ctx: PublishContext): Promise<EventEnvelope> {
    const definition = EventCatalog.resolve(e.name);
    const payload = await this.validated(definition, e.payload);
    return enrichEnvelope(definition, payload, ctx, this.config);
  }
}
