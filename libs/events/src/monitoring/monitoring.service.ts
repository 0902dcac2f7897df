import { getQueueToken } from '@nestjs/bullmq';
import { EventsConfig } from '../config/events-config.js';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { percentiles, type Percentiles, rollupWindow, TIER_MS } from '../rollups/rollup-tiers.js';
import { type LatencyRow, RollupsRepository } from '../rollups/rollups.repository.js';
import { DeadLetterRepository } from '../dead-letters/dead-letter.repository.js';
import { EVENTS_QUEUE, LISTENERS_QUEUE } from '../queues.js';
import './system-alert.events.js';
import type { SystemAlertV1 } from './system-alert.events.js';
import {
  deadLettersOpen,
  eventsStoredLastHour,
  outboxPending,
  queueJobs,
  queueOldestWaiting,
  registry,
  storeLatency,
} from './metrics.js';

/** Queues the dashboard watches. Persistent contract with the workers: the names of their queues. */
export const WATCHED_QUEUES = [EVENTS_QUEUE, LISTENERS_QUEUE, 'notifications'];

/** One BullMQ queue: every tenant's jobs together. */
export interface QueueBacklog {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest waiting job, or 0. */
  oldestWaitingSeconds: number;
}

/** The caller's own backlog: its tenant's events accepted and not yet processed, in the warehouses it may see. */
export interface TenantBacklog {
  pendingEvents: number;
  /** Age of the oldest pending event, or 0. */
  oldestPendingSeconds: number;
}

/**
 * Every figure of the window is read from the rollups (libs/events/src/rollups/), never from the event store: its
 * cost depends on the window and the number of warehouses and event names, not on how many events are stored.
 */
export interface DashboardStats {
  windowMinutes: number;
  /** Where the window starts and ends (the end of the current minute); see rollupWindow. */
  from: string;
  to: string;
  /** The length of each bucket of `throughput` and `failuresPerMinute`: 1 up to 2 hours, 60 up to 3 days, else 1440. */
  bucketMinutes: number;
  /** Buckets with stored events, oldest first; `minute` is the bucket's start. */
  throughput: { minute: string; total: number; byName: Record<string, number> }[];
  /** Buckets with jobs that landed in the dead-letter store. */
  failuresPerMinute: { minute: string; count: number }[];
  errorRate: number;
  /** Publish → stored over the window, milliseconds (from histograms: within ±9.1 %). */
  storeLatencyMs: Percentiles;
  /** Publish → handled, per queued listener, over the window, milliseconds. */
  listenerLatencyMs: Record<string, Percentiles>;
  backlog: TenantBacklog;
  /** Queue-wide figures, which count every tenant's jobs: only when asked for (the operating tenant's admins). */
  queues?: QueueBacklog[];
  alerts: { kind: SystemAlertV1['kind']; message: string }[];
}

export interface StatsOptions {
  /** Add the queue-wide figures and their alerts. Only for the operating tenant (OPS_TENANT). */
  queueWide?: boolean;
}

/** The figures supervisors watch: throughput, failures, latency, backlog — and the alerts their thresholds raise. */
@Injectable()
export class MonitoringService {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly config: EventsConfig,
    private readonly outbox: OutboxRepository,
    private readonly deadLetters: DeadLetterRepository,
    private readonly rollups: RollupsRepository,
  ) {}

  /** Every tenant's jobs per queue: for operators only (the operating tenant, /metrics). */
  async queueBacklog(): Promise<QueueBacklog[]> {
    return Promise.all(
      WATCHED_QUEUES.map(async (name) => {
        const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
        const [oldest] = await queue.getJobs(['waiting'], 0, 0, true);
        return {
          queue: name,
          waiting: counts.waiting,
          active: counts.active,
          delayed: counts.delayed,
          failed: counts.failed,
          oldestWaitingSeconds: oldest ? Math.max(0, Math.round((Date.now() - oldest.timestamp) / 1000)) : 0,
        };
      }),
    );
  }

  async stats(
    tenantId: string,
    warehouses: string[] | 'all',
    warehouseId?: string,
    windowMinutes = 60,
    options: StatsOptions = {},
  ): Promise<DashboardStats> {
    const scope = { tenantId, warehouses, warehouseId };
    const window = rollupWindow(windowMinutes);
    const byBucket = new Map<string, { minute: string; total: number; byName: Record<string, number> }>();
    const failures = new Map<string, { minute: string; count: number }>();
    for (const r of await this.rollups.counts(window, scope)) {
      if (r.stored) {
        const b = byBucket.get(r.at) ?? { minute: r.at, total: 0, byName: {} };
        b.total += r.stored;
        b.byName[r.name] = r.stored;
        byBucket.set(r.at, b);
      }
      if (r.failed) {
        const f = failures.get(r.at) ?? { minute: r.at, count: 0 };
        f.count += r.failed;
        failures.set(r.at, f);
      }
    }
    const total = [...byBucket.values()].reduce((n, b) => n + b.total, 0);
    const failed = [...failures.values()].reduce((n, f) => n + f.count, 0);
    // One histogram per listener; '' is publish → stored.
    const histograms: Record<string, LatencyRow[]> = {};
    for (const r of await this.rollups.latency(window, scope)) (histograms[r.listener] ??= []).push(r);
    const { '': store = [], ...listeners } = histograms;
    const pending = await this.outbox.pendingFor(tenantId, warehouses, warehouseId);
    const stats: DashboardStats = {
      windowMinutes,
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      bucketMinutes: TIER_MS[window.tier] / 60_000,
      throughput: [...byBucket.values()],
      failuresPerMinute: [...failures.values()],
      errorRate: total ? failed / total : 0,
      storeLatencyMs: percentiles(store),
      listenerLatencyMs: Object.fromEntries(Object.entries(listeners).map(([l, h]) => [l, percentiles(h)])),
      backlog: { pendingEvents: pending.count, oldestPendingSeconds: pending.oldestSeconds },
      ...(options.queueWide ? { queues: await this.queueBacklog() } : {}),
      alerts: [],
    };
    stats.alerts = this.alerts(stats);
    return stats;
  }

  /** Prometheus text: this process's counters plus gauges read from the queues and Postgres at scrape time. */
  async prometheus(): Promise<{ contentType: string; body: string }> {
    for (const q of await this.queueBacklog()) {
      for (const state of ['waiting', 'active', 'delayed', 'failed'] as const)
        queueJobs.set({ queue: q.queue, state }, q[state]);
      queueOldestWaiting.set({ queue: q.queue }, q.oldestWaitingSeconds);
    }
    outboxPending.set(await this.outbox.count());
    deadLettersOpen.reset();
    for (const r of await this.deadLetters.openByQueue()) deadLettersOpen.set({ queue: r.queue }, r.n);
    // Every tenant's rollups: the last 60 minute buckets, and the last 5 for the latency.
    const byName = new Map<string, number>();
    for (const r of await this.rollups.counts(rollupWindow(60)))
      byName.set(r.name, (byName.get(r.name) ?? 0) + r.stored);
    eventsStoredLastHour.reset();
    for (const [name, n] of byName) if (n) eventsStoredLastHour.set({ name }, n);
    const lat = percentiles(await this.rollups.latency(rollupWindow(5), undefined, ''));
    for (const q of ['p50', 'p95', 'p99'] as const) storeLatency.set({ quantile: q }, lat[q] ?? 0);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** The thresholds (ALERT_*) crossed right now. */
  alerts(s: Pick<DashboardStats, 'backlog' | 'queues' | 'errorRate' | 'storeLatencyMs'>): DashboardStats['alerts'] {
    const alerts: DashboardStats['alerts'] = [];
    const maxAge = this.config.ALERT_BACKLOG_AGE_S;
    if (s.backlog.oldestPendingSeconds > maxAge) {
      alerts.push({
        kind: 'backlog_age',
        message:
          `${s.backlog.pendingEvents} events waiting to be processed, ` +
          `the oldest for ${s.backlog.oldestPendingSeconds} s (threshold ${maxAge} s)`,
      });
    }
    for (const q of s.queues ?? []) {
      if (q.oldestWaitingSeconds > maxAge)
        alerts.push({
          kind: 'queue_backlog_age',
          message: `queue ${q.queue} (every tenant): oldest waiting job is ${q.oldestWaitingSeconds} s old (threshold ${maxAge} s)`,
        });
    }
    if (s.errorRate > this.config.ALERT_ERROR_RATE)
      alerts.push({
        kind: 'error_rate',
        message:
          `${(s.errorRate * 100).toFixed(1)} % of events ended in the dead-letter store ` +
          `(threshold ${(this.config.ALERT_ERROR_RATE * 100).toFixed(1)} %)`,
      });
    if ((s.storeLatencyMs.p99 ?? 0) > this.config.ALERT_P99_LATENCY_MS)
      alerts.push({
        kind: 'latency',
        message: `publish → stored p99 is ${s.storeLatencyMs.p99} ms (threshold ${this.config.ALERT_P99_LATENCY_MS} ms)`,
      });
    return alerts;
  }
}
