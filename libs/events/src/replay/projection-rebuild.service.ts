import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { AuditService } from '../audit/audit.service.js';
import { unitOfWork } from '../database/unit-of-work.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { DomainError } from '../errors/domain-error.js';
import { ListenerLocks } from '../listeners/listener-locks.service.js';
import { ListenerReceiptsRepository } from '../listeners/listener-receipts.repository.js';
import { ListenerRegistry, type RegisteredListener } from '../listeners/listener-registry.service.js';
import { type ListenerJobs, LISTENERS_QUEUE, type QueueOf } from '../queues.js';
import { EventStoreRepository, type ListenerRange, type RangeCursor } from '../store/event-store.repository.js';
import { type ListenerRebuild, ListenerRebuildsRepository } from './listener-rebuilds.repository.js';
import { parseDateTime } from '../dates/strict-dates.js';

export interface RebuildRequest {
  /** Events that occurred at or after `from` and before `to` (ISO-8601). */
  from: string;
  to: string;
  /** Do the reset in a transaction that is rolled back: the counts, and nothing changes. */
  dryRun?: boolean;
}

export type RebuildResult =
  | {
      dryRun: true;
      listener: string;
      from: string;
      to: string;
      eventsReset: number;
      receiptsReset: number;
      /** The interrupted rebuild a real run would finish (its reset is done: nothing more is reset). */
      resumes?: string;
    }
  | (ListenerRebuild & { dryRun: false; resumed: boolean });

export type RebuildProgress =
  { step: 'reset'; eventsReset: number; receiptsReset: number } | { step: 'queued'; eventsQueued: number };

const RESET_PAGE = 5000;
const QUEUE_PAGE = 500;
const cursorOf = (e: { occurredAt: string; id: string }): RangeCursor => ({ occurredAt: e.occurredAt, id: e.id });

/** Thrown inside a dry run's transaction to roll it back with what it counted. */
class DryRun extends Error {
  constructor(readonly counts: { eventsReset: number; receiptsReset: number }) {
    super('dry run');
  }
}

/**
 * Rebuilds a projection listener for a range of one tenant's events: in ONE transaction the listener forgets what
 * it derived from them (its `@ResetsProjection`) and its receipts of them are deleted, with the rebuild's row and
 * its audit entry; only then are the events queued to it again, a page at a time, the row keeping how far that
 * got. A process that dies before the commit changed nothing; one that dies after it leaves the rebuild
 * `queueing`, and running the same rebuild again queues the rest. Receipts keep each event applied once however
 * often a page is queued, and the projection lock keeps the listener's live jobs out of the reset.
 */
@Injectable()
export class ProjectionRebuildService {
  constructor(
    private readonly db: DataSource,
    private readonly registry: ListenerRegistry,
    private readonly locks: ListenerLocks,
    private readonly store: EventStoreRepository,
    private readonly receipts: ListenerReceiptsRepository,
    private readonly rebuilds: ListenerRebuildsRepository,
    private readonly audit: AuditService,
    @InjectQueue(LISTENERS_QUEUE) private readonly queue: QueueOf<ListenerJobs>,
  ) {}

  async rebuild(
    actor: EventActor,
    tenantId: string,
    listenerName: string,
    r: RebuildRequest,
    onProgress?: (p: RebuildProgress) => void,
  ): Promise<RebuildResult> {
    const listener = this.rebuildable(listenerName);
    // The same strict dates as every route; a rebuild of an empty range is refused, not done.
    const from = parseDateTime(r.from, 'from').toISOString();
    const to = parseDateTime(r.to, 'to').toISOString();
    if (from >= to)
      throw new DomainError('REBUILD.RANGE', 'from must be before to', 'invalid', [
        { field: 'from', reason: 'is not before to' },
      ]);
    const range: ListenerRange = { tenantId, names: listener.events, from, to };
    return this.locks.whileHeld(tenantId, [listener.name], async () => {
      const interrupted = await this.rebuilds.unfinished(tenantId, listener.name);
      if (interrupted && (interrupted.from !== from || interrupted.to !== to))
        throw new DomainError(
          'REBUILD.INTERRUPTED',
          `rebuild ${interrupted.id} of ${listener.name} for ${interrupted.from} – ${interrupted.to} was interrupted ` +
            'before all its events were queued; run it again with that range to finish it first',
          'conflict',
          [
            { field: 'from', reason: `an interrupted rebuild of ${listener.name} starts at ${interrupted.from}` },
            { field: 'to', reason: `an interrupted rebuild of ${listener.name} ends at ${interrupted.to}` },
          ],
        );
      if (interrupted) {
        if (r.dryRun)
          return {
            dryRun: true as const,
            listener: listener.name,
            from,
            to,
            eventsReset: 0,
            receiptsReset: 0,
            resumes: interrupted.id,
          };
        await this.audit.record({
          tenantId,
          actor,
          action: 'listener.rebuild_resumed',
          target: listener.name,
          details: { rebuildId: interrupted.id, from, to, eventsQueued: interrupted.eventsQueued },
        });
        return { ...(await this.queueRange(interrupted, range, onProgress)), dryRun: false as const, resumed: true };
      }
      let started: ListenerRebuild;
      try {
        started = await unitOfWork(this.db, async (m) => {
          await this.locks.lockProjection(m, tenantId, listener.name);
          await listener.reset!({ tenantId, from, to }, m);
          let eventsReset = 0;
          let receiptsReset = 0;
          let after: RangeCursor | undefined;
          for (;;) {
            const keys = await this.store.keysInRange(range, after, RESET_PAGE, m);
            if (!keys.length) break;
            eventsReset += keys.length;
            receiptsReset += await this.receipts.forget(
              m,
              listener.name,
              keys.map((k) => k.id),
            );
            after = keys[keys.length - 1];
          }
          if (r.dryRun) throw new DryRun({ eventsReset, receiptsReset });
          const rebuild = await this.rebuilds.start(m, {
            id: uuidv7(),
            tenantId,
            listener: listener.name,
            from,
            to,
            eventsReset,
            receiptsReset,
            requestedBy: `${actor.type}:${actor.id}`,
          });
          await this.audit.record(
            {
              tenantId,
              actor,
              action: 'listener.rebuilt',
              target: listener.name,
              details: { rebuildId: rebuild.id, from, to, eventsReset, receiptsReset },
            },
            m,
          );
          return rebuild;
        });
      } catch (error) {
        if (error instanceof DryRun)
          return { dryRun: true as const, listener: listener.name, from, to, ...error.counts };
        throw error;
      }
      onProgress?.({ step: 'reset', eventsReset: started.eventsReset, receiptsReset: started.receiptsReset });
      return { ...(await this.queueRange(started, range, onProgress)), dryRun: false as const, resumed: false };
    });
  }

  /** A rebuild and how many of its queued events the listener has handled so far. */
  async progress(tenantId: string, listenerName: string, id: string): Promise<ListenerRebuild & { handled: number }> {
    const rebuild = await this.rebuilds.find(tenantId, listenerName, id);
    if (!rebuild)
      throw new DomainError('REBUILD.UNKNOWN', `no rebuild ${id} of ${listenerName}`, 'not_found', [
        { field: 'id', reason: 'no such rebuild of this listener' },
      ]);
    const names = this.registry.get(listenerName)?.events ?? [];
    const range: ListenerRange = { tenantId, names, from: rebuild.from, to: rebuild.to };
    let handled = 0;
    let after: RangeCursor | undefined;
    while (rebuild.cursor) {
      const keys = (await this.store.keysInRange(range, after, RESET_PAGE)).filter(
        (k) =>
          k.occurredAt < rebuild.cursor!.occurredAt ||
          (k.occurredAt === rebuild.cursor!.occurredAt && k.id <= rebuild.cursor!.id),
      );
      if (!keys.length) break;
      handled += await this.receipts.handledCount(
        listenerName,
        keys.map((k) => k.id),
      );
      after = keys[keys.length - 1];
    }
    return { ...rebuild, handled: Math.min(handled, rebuild.eventsQueued) };
  }

  private rebuildable(name: string): RegisteredListener {
    const listener = this.registry.get(name);
    const projections = this.registry
      .all()
      .filter((l) => l.reset)
      .map((l) => l.name);
    if (!listener)
      throw new DomainError(
        'LISTENER.UNKNOWN',
        `no queued listener named ${name}; rebuildable ones: ${projections.join(', ') || 'none'}`,
        'not_found',
        [{ field: 'listener', reason: 'unknown listener' }],
      );
    if (!listener.reset)
      throw new DomainError(
        'LISTENER.NOT_REBUILDABLE',
        `${name} is not a projection: rebuilding it would repeat what it does (notifications, calls to other ` +
          'systems); only listeners declared with rebuildable: true can be rebuilt',
        'unprocessable',
        [{ field: 'listener', reason: 'is not rebuildable' }],
      );
    return listener;
  }

  /** Queues the range to the listener from where the rebuild got to, keeping the cursor after every page. */
  private async queueRange(
    rebuild: ListenerRebuild,
    range: ListenerRange,
    onProgress?: (p: RebuildProgress) => void,
  ): Promise<ListenerRebuild> {
    let after = rebuild.cursor ?? undefined;
    let eventsQueued = rebuild.eventsQueued;
    for (;;) {
      const events = await this.store.pageInRange(range, after, QUEUE_PAGE);
      if (!events.length) break;
      await this.queue.addBulk(
        events.map((e) => ({ name: rebuild.listener, data: e, opts: { jobId: `rebuild@${rebuild.id}@${e.id}` } })),
      );
      after = cursorOf(events[events.length - 1]);
      await this.rebuilds.advance(rebuild.id, after, events.length);
      eventsQueued += events.length;
      onProgress?.({ step: 'queued', eventsQueued });
    }
    return this.rebuilds.queued(rebuild.id);
  }
}
