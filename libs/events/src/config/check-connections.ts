import { EventsConfig } from './events-config.js';
import { ConfigError } from './load-config.js';
import pg from 'pg';
import { createRedisClient, isRedisCluster } from '../database/connections.js';

const hideSecret = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

/** Fails fast at boot, naming the variable, when Postgres (or Redis in the Redis profile) does not answer. */
export async function checkConnections(config: EventsConfig): Promise<void> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    problems.push(
      `DATABASE_URL: cannot connect to ${hideSecret(config.DATABASE_URL)} (${(error as Error).message}); ` +
        'check the URL and that Postgres is running',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  if (config.QUEUE_CONNECTION === 'redis') {
    const cluster = isRedisCluster(config);
    const redis = createRedisClient(config, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 5000,
    });
    // The client's own error tells more than connect()'s ("None of startup nodes is available"), e.g. that the node
    // has cluster support disabled.
    let clientError: (Error & { lastNodeError?: Error }) | undefined;
    redis.on('error', (error: Error) => (clientError = error));
    try {
      await redis.connect();
      await redis.ping();
      // A cluster that lost slots answers PING but refuses keys of the missing slots: BullMQ would fail later.
      if (cluster) {
        const state = /cluster_state:(\w+)/.exec(await redis.cluster('INFO'))?.[1];
        if (state !== 'ok') throw new Error(`cluster_state is ${state ?? 'unknown'}, not ok`);
      }
    } catch (error) {
      const reason = clientError?.lastNodeError?.message ?? clientError?.message ?? (error as Error).message;
      problems.push(
        cluster
          ? `REDIS_CLUSTER_NODES: cannot use the Redis Cluster at ${config.REDIS_CLUSTER_NODES} (${reason}); ` +
              'start the cluster, fix the node list, or unset it'
          : `REDIS_URL: cannot connect to ${hideSecret(config.REDIS_URL!)} (${(error as Error).message}); ` +
              'start Redis, fix the URL, or unset it to run Postgres-only',
      );
    } finally {
      redis.disconnect();
    }
  }
  if (problems.length) throw new ConfigError(problems);
}
