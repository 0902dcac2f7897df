import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config.js';

/** Whose access changed: a person, a device or API key, or a whole tenant (suspended, resumed). */
export type AccessChange = { kind: 'user'; id: string } | { kind: 'credential'; id: string } | { kind: 'tenant'; id: string };

// Persistent contract between processes of different versions: renaming the channel or the payload's shape
// leaves older api instances deaf to revocations until they are restarted.
const CHANNEL = 'wms_access_changed';

/**
 * Tells every api instance, at once, that someone's access changed, so their caches drop it and their open
 * sockets are checked again. Postgres NOTIFY is sent inside the changing transaction and delivered only when
 * it commits — never for a change that rolled back, never before the change is visible — and every api
 * instance already has Postgres, in both profiles. While the listening connection is down, `live` is false
 * and callers must not trust their caches.
 */
@Injectable()
export class AccessChanges implements OnApplicationShutdown {
  private readonly logger = new Logger(AccessChanges.name);
  private readonly handlers: ((change: AccessChange) => void)[] = [];
  private readonly resets: (() => void)[] = [];
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private retryDelayMs = 100;
  /** True while this process is listening; caches are trustworthy only then. */
  live = false;

  constructor(private readonly config: AppConfig) {}

  /** Announces a change in the caller's transaction; other instances hear it when (and only if) it commits. */
  async announce(manager: EntityManager, change: AccessChange): Promise<void> {
    await manager.query(`SELECT pg_notify($1, $2)`, [CHANNEL, JSON.stringify(change)]);
  }

  /**
   * Calls `handler` for every committed change, from any process; `reset` when changes may have been
   * missed (the listening connection was lost and is back), so caches must be dropped whole.
   */
  subscribe(handler: (change: AccessChange) => void, reset: () => void): Promise<void> {
    this.handlers.push(handler);
    this.resets.push(reset);
    return this.listen();
  }

  private listen(): Promise<void> {
    if (this.client || this.stopped) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.config.DATABASE_URL, application_name: 'wms-access-changes' });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const change = JSON.parse(message.payload) as AccessChange;
      for (const handler of this.handlers) handler(change);
    });
    let lost = false;
    const onLost = (error: Error) => {
      if (lost) return;
      lost = true;
      this.lost(client, error);
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (lost) return;
    this.client = client;
    this.retryDelayMs = 100;
    // Whatever changed while nobody was listening is unknown: start from a clean cache.
    for (const reset of this.resets) reset();
    this.live = true;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client === client) this.client = null;
    this.live = false;
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    for (const reset of this.resets) reset();
    if (this.stopped) return;
    this.logger.warn({ error: error.message, retryInMs: this.retryDelayMs }, 'lost the access-changes listener; caches are bypassed until it is back');
    setTimeout(() => void this.listen(), this.retryDelayMs).unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5000);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.live = false;
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
