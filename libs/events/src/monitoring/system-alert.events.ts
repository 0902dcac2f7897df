import { IsIn, IsString, Length } from 'class-validator';
import { defineEvent } from '../catalog/event-catalog.js';

// backlog_age: the tenant's own accepted events wait too long; queue_backlog_age: a queue's jobs (every
// tenant's) do, raised for the operating tenant (OPS_TENANT) only.
export const SYSTEM_ALERT_KINDS = ['backlog_age', 'queue_backlog_age', 'error_rate', 'latency'] as const;

// Persistent contract: stored and queued. Add fields or versions; never rename.
export class SystemAlertV1 {
  @IsIn(SYSTEM_ALERT_KINDS) kind: (typeof SYSTEM_ALERT_KINDS)[number];
  @IsString() @Length(1, 500) message: string;
}

defineEvent<SystemAlertV1>({
  name: 'system.alert',
  version: 1,
  payload: SystemAlertV1,
  severity: 'critical',
  description:
    'A monitoring threshold was crossed (the age of the tenant’s own backlog; queue backlog age, for the operating ' +
    'tenant only; error rate; publish → stored latency); sent when it starts, not while it lasts.',
  aggregateType: 'system',
  aggregateId: (p) => p.kind,
  emittedBy: [
    'SystemAlertMonitor — the maintenance job check-system-alerts, every ALERT_CHECK_INTERVAL_S (ALERT_* thresholds)',
  ],
});

declare module '../catalog/event-catalog.js' {
  interface EventMap {
    'system.alert': SystemAlertV1;
  }
}
