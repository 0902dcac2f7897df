import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { EventsConfig } from '../config/events-config.js';
import pg from 'pg';
import type { EntityManager } from 'typeorm';

/** Whose access changed: a person, a device or API key, or a whole tenant (suspended, resumed). */
export type AccessChange =
  { kind: 'user'; id: string } | { kind: 'credential'; id: string } | { kind: 'tenant'; id: string };

// Persistent contract between processes of different versions: renaming the channel or the payload's shape
// leaves older api instances deaf to revocations until they are restarted.
const CHANNEL = 'wms_access_changed';
const KINDS = new Set(['user', 'credential', 'tenant']);
/** A listening connection can die without a word (a NAT or firewall dropping an idle flow): it is asked to answer this often… */
const HEARTBEAT_MS = 250;
/** …and counted as lost when an answer is this late, so a missed change is noticed well within a second. */
const HEARTBEAT_TIMEOUT_MS = 750;

/** A change notice as sent by announce(); anything else on the channel is not to be trusted. */
function parseChange(payload: string | undefined): AccessChange | null {
  try {
    const change = JSON.parse(payload ?? '') as AccessChange;
    return change && typeof change === 'object' && KINDS.has(change.kind) && typeof change.id === 'string'
      ? change
      : null;
  } catch {
    return null;
  }
}

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

  constructor(private readonly config: EventsConfig) {}

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
    const client = new pg.Client({
      connectionString: this.config.DATABASE_URL,
      application_name: 'wms-access-changes',
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL) return;
      const change = parseChange(message.payload);
      if (!change) {
        // Anyone who can connect may NOTIFY: a notice we cannot read means some change may be unknown.
        this.logger.warn({ channel: CHANNEL }, 'unreadable access-change notice; dropping every cached access');
        this.reset();
        return;
      }
      for (const handler of this.handlers) {
        try {
          handler(change);
        } catch (error) {
          this.logger.error(
            { error: (error as Error).message, change },
            'access-change handler failed; dropping every cached access',
          );
          this.reset();
        }
      }
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
    this.reset();
    this.live = true;
    this.heartbeat(client, onLost);
  }

  private heartbeat(client: pg.Client, onLost: (error: Error) => void): void {
    let askedAt: number | null = null;
    const timer = setInterval(() => {
      if (this.client !== client) return clearInterval(timer);
      if (askedAt !== null) {
        if (Date.now() - askedAt > HEARTBEAT_TIMEOUT_MS) {
          clearInterval(timer);
          onLost(new Error(`no answer within ${HEARTBEAT_TIMEOUT_MS} ms`));
        }
        return;
      }
      askedAt = Date.now();
      client.query('SELECT 1').then(
        () => (askedAt = null),
        (error: Error) => onLost(error),
      );
    }, HEARTBEAT_MS).unref();
  }

  private reset(): void {
    for (const reset of this.resets) reset();
  }

  private lost(client: pg.Client, error: Error): void {
    client.removeAllListeners('end');
    // end() waits for the server, which may never answer: drop the socket as well.
    client.end().catch(() => undefined);
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    if (this.client !== null && this.client !== client) return;
    this.client = null;
    this.live = false;
    this.reset();
    if (this.stopped) return;
    this.logger.warn(
      { error: error.message, retryInMs: this.retryDelayMs },
      'lost the access-changes listener; caches are bypassed until it is back',
    );
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
