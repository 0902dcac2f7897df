import { IsIn, IsString, Length } from 'class-validator';
import { defineEvent } from '../catalog/event-catalog.js';

export const SYSTEM_ALERT_KINDS = ['backlog_age', 'error_rate', 'latency'] as const;

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
  description: 'A monitoring threshold was crossed (queue backlog age, error rate, publish → stored latency); sent when it starts, not while it lasts.',
  aggregateType: 'system',
  aggregateId: (p) => p.kind,
  emittedBy: ['SystemAlertMonitor — the worker, every 30 s (ALERT_* thresholds)'],
});

declare module '../catalog/event-catalog.js' {
  interface EventMap {
    'system.alert': SystemAlertV1;
  }
}
