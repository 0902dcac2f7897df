import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { AuditService } from '../audit/audit.service.js';
import { EventBroadcaster } from '../broadcasting/event-broadcaster.service.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { checkDateRange } from '../dates/strict-dates.js';
import { DomainError } from '../errors/domain-error.js';
import { ListenerLocks } from '../listeners/listener-locks.service.js';
import { ListenerRegistry } from '../listeners/listener-registry.service.js';
import { type ListenerJobs, LISTENERS_QUEUE, type QueueOf } from '../queues.js';
import { EventStoreRepository, type OccurredRange } from '../store/event-store.repository.js';

export interface ReplayRequest extends Omit<OccurredRange, 'tenantId'> {
  /** One listener, or every listener of each event when omitted. */
  listener?: string;
  /** Also send the events to live dashboards again (off by default). */
  broadcast?: boolean;
}

export interface ReplayResult {
  replayId: string;
  events: number;
  jobs: number;
  eventIds: string[];
}

/**
 * Re-delivers stored events to queued listeners. Listeners record a receipt per (listener, event), so a
 * replay never applies an event twice: replaying into a rebuilt projection twice gives what once gives.
 */
@Injectable()
export class ReplayService {
  constructor(
    private readonly store: EventStoreRepository,
    private readonly registry: ListenerRegistry,
    private readonly broadcaster: EventBroadcaster,
    private readonly audit: AuditService,
    private readonly locks: ListenerLocks,
    @InjectQueue(LISTENERS_QUEUE) private readonly listeners: QueueOf<ListenerJobs>,
  ) {}

  async replay(
    actor: EventActor,
    tenantId: string,
    r: ReplayRequest,
    onProgress?: (done: number) => void,
  ): Promise<ReplayResult> {
    checkDateRange(r, { code: 'REPLAY.RANGE' });
    if (r.listener && !this.registry.get(r.listener)) {
      const known =
        this.registry
          .all()
          .map((l) => l.name)
          .join(', ') || 'none';
      throw new DomainError(
        'REPLAY.UNKNOWN_LISTENER',
        `no queued listener named ${r.listener}; known: ${known}`,
        'invalid',
        [{ field: 'listener', reason: 'unknown listener' }],
      );
    }
    // One replay or rebuild of a listener at a time (in any process): these are the listeners this one feeds.
    const targets = r.listener
      ? [r.listener]
      : (r.name ? this.registry.forEvent(r.name) : this.registry.all()).map((l) => l.name);
    return this.locks.whileHeld(tenantId, targets, () => this.replayHeld(actor, tenantId, r, onProgress));
  }

  private async replayHeld(
    actor: EventActor,
    tenantId: string,
    r: ReplayRequest,
    onProgress?: (done: number) => void,
  ): Promise<ReplayResult> {
    const replayId = uuidv7();
    const eventIds: string[] = [];
    let jobs = 0;
    let after: string | undefined;
    // Oldest first, a page at a time, so a long replay keeps memory flat and reports progress.
    for (;;) {
      const events = await this.store.pageByOccurredAt({ ...r, tenantId }, after, 500);
      if (!events.length) break;
      const batch = events.flatMap((event) =>
        (r.listener ? [r.listener] : this.registry.forEvent(event.name).map((l) => l.name))
          .filter((name) => this.registry.get(name)!.events.includes(event.name))
          .map((name) => ({ name, data: event, opts: { jobId: `replay@${replayId}@${name}@${event.id}` } })),
      );
      if (batch.length) await this.listeners.addBulk(batch);
      if (r.broadcast) for (const e of events) this.broadcaster.broadcast(e);
      jobs += batch.length;
      eventIds.push(...events.map((e) => e.id));
      after = events[events.length - 1].id;
      onProgress?.(eventIds.length);
    }
    await this.audit.record({
      tenantId,
      actor,
      action: 'events.replayed',
      target: replayId,
      details: { ...r, events: eventIds.length, jobs },
    });
    return { replayId, events: eventIds.length, jobs, eventIds };
  }
}
