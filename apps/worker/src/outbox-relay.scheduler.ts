import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig, OutboxRelay } from '@wms/events';

/** Periodically queues again accepted events whose job was lost; one pass at a time. */
@Injectable()
export class OutboxRelayScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayScheduler.name);
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
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
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'outbox relay pass failed; it runs again shortly');
    } finally {
      this.running = false;
    }
  }
}
