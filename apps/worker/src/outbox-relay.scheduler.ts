import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EventsConfig } from '@wms/events';
import { OutboxRelay } from '@wms/events';
import { DeliveryService } from '@wms/notifications';

/** Periodically queues again accepted events and notification deliveries whose job was lost; one pass at a time. */
@Injectable()
export class OutboxRelayScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayScheduler.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly relay: OutboxRelay,
    private readonly deliveries: DeliveryService,
    private readonly config: EventsConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.max(100, Math.min(5000, Math.floor(this.config.OUTBOX_REDRIVE_AFTER_MS / 2)));
    this.timer = setInterval(() => void this.tick(), every);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.relay.redrive(this.config.OUTBOX_REDRIVE_AFTER_MS);
      await this.deliveries.redrive(Math.ceil(this.config.OUTBOX_REDRIVE_AFTER_MS / 1000) * 4);
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'outbox relay pass failed; it runs again shortly');
    } finally {
      this.running = false;
    }
  }
}
