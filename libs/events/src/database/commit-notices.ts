import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { EntityManager } from 'typeorm';

/** A listening connection can die without a word: it is asked to answer this often… */
const HEARTBEAT_MS = 250;
/** …and counted as lost when an answer is this late, so a missed notice is noticed well within a second. */
const HEARTBEAT_TIMEOUT_MS = 750;

/**
 * Postgres NOTIFY on one channel, for caches every process keeps of rows that rarely change: `announce` is sent
 * inside the changing transaction and delivered only when it commits — never for a change that rolled back, never
 * before the change is visible — in both profiles (every process already has Postgres). While the listening
 * connection is down `live` is false and callers must not trust their caches; `reset` runs whenever notices may
 * have been missed (or one could not be read), so caches are dropped whole.
 */
export class CommitNotices<N> {
  private readonly logger: Logger;
  private readonly handlers: ((notice: N) => void)[] = [];
  private readonly resets: (() => void)[] = [];
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private stopped = false;
  private retryDelayMs = 100;
  /** True while this process is listening; caches are trustworthy only then. */
  live = false;

  constructor(
    private readonly databaseUrl: string,
    /** A persistent contract between processes of different versions: renaming it leaves older ones deaf. */
    private readonly channel: string,
    /** The notice as announce() sent it, or null for anything else on the channel (which resets every cache). */
    private readonly parse: (payload: string) => N | null,
    /** The listening connection's application_name (pg_stat_activity, and what the tests' proxy matches). */
    private readonly applicationName = `wms-${channel}`,
  ) {
    this.logger = new Logger(`CommitNotices(${channel})`);
  }

  /** Announces a change in the caller's transaction; every process hears it when (and only if) it commits. */
  async announce(manager: EntityManager, notice: N): Promise<void> {
    await manager.query(`SELECT pg_notify($1, $2)`, [this.channel, JSON.stringify(notice)]);
  }

  /** Calls `handler` for every committed notice, from any process; `reset` when notices may have been missed. */
  subscribe(handler: (notice: N) => void, reset: () => void): Promise<void> {
    this.handlers.push(handler);
    this.resets.push(reset);
    return this.listen();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }

  private listen(): Promise<void> {
    if (this.client || this.stopped) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: this.applicationName,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel !== this.channel) return;
      let notice: N | null;
      try {
        notice = this.parse(message.payload ?? '');
      } catch {
        notice = null;
      }
      if (notice === null) {
        this.logger.warn({ channel: this.channel }, 'unreadable notice; dropping every cached entry');
        return this.reset();
      }
      for (const handler of this.handlers) {
        try {
          handler(notice);
        } catch (error) {
          this.logger.error({ error: (error as Error).message }, 'notice handler failed; dropping every cached entry');
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
      await client.query(`LISTEN ${this.channel}`);
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
    client.end().catch(() => undefined);
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    if (this.client !== null && this.client !== client) return;
    this.client = null;
    this.live = false;
    this.reset();
    if (this.stopped) return;
    this.logger.warn({ error: error.message, retryInMs: this.retryDelayMs }, 'lost the listener; caches are bypassed');
    setTimeout(() => void this.listen(), this.retryDelayMs).unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5000);
  }
}
