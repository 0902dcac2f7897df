import { type INestApplicationContext, Logger } from '@nestjs/common';
import { EventsConfig } from '@wms/events';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter as createPostgresAdapter } from '@socket.io/postgres-adapter';
import { createAdapter as createRedisAdapter } from '@socket.io/redis-adapter';
import { createRedisClient, socketChannel } from '@wms/events';
import pg from 'pg';
import type { Server, ServerOptions } from 'socket.io';

/**
 * socket.io across processes: the Redis adapter (full profile) or the Postgres adapter
 * (Postgres-only), on the same channel the worker's emitter publishes to.
 */
export class ClusterIoAdapter extends IoAdapter {
  private closers: (() => Promise<unknown>)[] = [];

  constructor(
    app: INestApplicationContext,
    private readonly config: EventsConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server: Server = super.createIOServer(port, { ...options, cors: { origin: true } } as ServerOptions);
    if (this.config.QUEUE_CONNECTION === 'redis') {
      // Classic pub/sub, on one Redis or a cluster alike (the worker's emitter speaks only that).
      const pub = createRedisClient(this.config);
      const sub = pub.duplicate();
      for (const client of [pub, sub])
        client.on('error', (error: Error) =>
          new Logger(ClusterIoAdapter.name).warn({ error: error.message }, 'Redis connection error; reconnecting'),
        );
      server.adapter(createRedisAdapter(pub, sub, { key: socketChannel(this.config.QUEUE_PREFIX) }));
      this.closers.push(
        () => pub.quit(),
        () => sub.quit(),
      );
    } else {
      const pool = new pg.Pool({ connectionString: this.config.DATABASE_URL, max: 2 });
      server.adapter(createPostgresAdapter(pool, { channelPrefix: socketChannel(this.config.QUEUE_PREFIX) }));
      this.closers.push(() => pool.end());
    }
    return server;
  }

  override async dispose(): Promise<void> {
    await Promise.allSettled(this.closers.map((close) => close()));
  }
}
