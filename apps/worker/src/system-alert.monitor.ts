import { Injectable } from '@nestjs/common';
import { EventService, EventsConfig, MonitoringService, SystemAlertsRepository, UsersRepository } from '@wms/events';

/**
 * Checks the dashboard's thresholds and publishes `system.alert` when one starts being crossed, so notification
 * rules can page someone (by default: the tenant's admins, critical, so SMS too). Runs as the maintenance queue's
 * `check-system-alerts` job, once per ALERT_CHECK_INTERVAL_S across all workers; which alerts are raised is kept in
 * Postgres, so an alert is raised once even if two checks overlap. Each tenant is alerted on its own figures only;
 * the queue-wide ones (every tenant's jobs) go to the operating tenant (OPS_TENANT), so one tenant's stuck backlog
 * does not page everyone else.
 */
@Injectable()
export class SystemAlertMonitor {
  constructor(
    private readonly monitoring: MonitoringService,
    private readonly events: EventService,
    private readonly users: UsersRepository,
    private readonly raised: SystemAlertsRepository,
    private readonly config: EventsConfig,
  ) {}

  /** One pass; returns the alerts it published (`<tenant>/<kind>`). */
  async check(): Promise<string[]> {
    const published: string[] = [];
    for (const tenantId of await this.users.tenantsWithActiveAdmins()) {
      const stats = await this.monitoring.stats(tenantId, 'all', undefined, 5, {
        queueWide: tenantId === this.config.OPS_TENANT,
      });
      // Several queues can cross the same threshold at once: one alert of a kind per tenant.
      const holding = [...new Map(stats.alerts.map((a) => [a.kind, a])).values()];
      // A kind this pass did not evaluate (the queue-wide one, outside OPS_TENANT) is neither raised nor cleared.
      const kept = tenantId === this.config.OPS_TENANT ? [] : ['queue_backlog_age'];
      await this.raised.clearAllBut(tenantId, [...holding.map((a) => a.kind), ...kept]);
      for (const alert of holding) {
        const { result: raised } = await this.events.transaction(async (tx) => {
          if (!(await this.raised.raise(tx.manager, tenantId, alert.kind))) return false;
          await tx.publish(
            'system.alert',
            { kind: alert.kind, message: alert.message },
            { tenantId, actor: { type: 'system', id: 'monitor' }, source: 'worker' },
          );
          return true;
        });
        if (raised) published.push(`${tenantId}/${alert.kind}`);
      }
    }
    return published;
  }
}
