import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventService, EventsConfig, MonitoringService, UsersRepository } from '@wms/events';

/**
 * Checks the dashboard's thresholds every 30 s and publishes `system.alert` when one starts being crossed,
 * so notification rules can page someone (by default: the tenant's admins, critical, so SMS too).
 * Each tenant is alerted on its own figures only; the queue-wide ones (every tenant's jobs) go to the
 * operating tenant (OPS_TENANT), so one tenant's stuck backlog does not page everyone else.
 */
@Injectable()
export class SystemAlertMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SystemAlertMonitor.name);
  private readonly active = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly monitoring: MonitoringService,
    private readonly events: EventService,
    private readonly users: UsersRepository,
    private readonly config: EventsConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.check().catch((e: Error) => this.logger.warn({ error: e.message }, 'alert check failed')),
      30_000,
    );
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; returns the alerts it published (`<tenant>/<kind>`). */
  async check(): Promise<string[]> {
    const published: string[] = [];
    for (const tenantId of await this.users.tenantsWithActiveAdmins()) {
      const stats = await this.monitoring.stats(tenantId, 'all', undefined, 5, {
        queueWide: tenantId === this.config.OPS_TENANT,
      });
      const now = new Set(stats.alerts.map((a) => `${tenantId}/${a.kind}`));
      for (const alert of stats.alerts) {
        const key = `${tenantId}/${alert.kind}`;
        // Several queues can cross the same threshold at once: one alert of a kind per tenant.
        if (this.active.has(key) || published.includes(key)) continue;
        await this.events.publish(
          'system.alert',
          { kind: alert.kind, message: alert.message },
          { tenantId, actor: { type: 'system', id: 'monitor' }, source: 'worker' },
        );
        published.push(key);
      }
      for (const key of [...this.active]) if (key.startsWith(`${tenantId}/`) && !now.has(key)) this.active.delete(key);
      for (const key of now) this.active.add(key);
    }
    return published;
  }
}
