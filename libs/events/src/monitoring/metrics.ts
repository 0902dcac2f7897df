import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** This process's Prometheus registry (prom-client). Metric names are a contract with dashboards and alerts. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'wms_' });

export const eventsPublished = new Counter({
  name: 'wms_events_published_total',
  help: 'Events accepted (durable in Postgres) by this process, by event name',
  labelNames: ['name'],
  registers: [registry],
});
export const queueJobs = new Gauge({
  name: 'wms_queue_jobs',
  help: 'Jobs per queue and state',
  labelNames: ['queue', 'state'],
  registers: [registry],
});
export const queueOldestWaiting = new Gauge({
  name: 'wms_queue_oldest_waiting_seconds',
  help: 'Age of the oldest waiting job per queue',
  labelNames: ['queue'],
  registers: [registry],
});
export const outboxPending = new Gauge({
  name: 'wms_outbox_pending',
  help: 'Accepted events not yet stored and fanned out',
  registers: [registry],
});
export const deadLettersOpen = new Gauge({
  name: 'wms_dead_letters_open',
  help: 'Open dead letters by queue',
  labelNames: ['queue'],
  registers: [registry],
});
export const eventsStoredLastHour = new Gauge({
  name: 'wms_events_stored_last_hour',
  help: 'Events stored in the last hour, by name',
  labelNames: ['name'],
  registers: [registry],
});
export const storeLatency = new Gauge({
  name: 'wms_store_latency_ms',
  help: 'Publish → stored latency over the last 5 minutes',
  labelNames: ['quantile'],
  registers: [registry],
});
