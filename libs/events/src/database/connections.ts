import { type ConnectionOptions, createIORedisClient, RedisConnection } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * Every Redis connection of the product is made here: BullMQ's (queues, workers, job schedulers, bull-board and the
 * health check read through those queues), socket.io's adapter (api) and emitter (worker), and the boot check.
 * One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES), chosen by the configuration alone.
 */
export interface RedisTarget {
  REDIS_URL?: string;
  REDIS_CLUSTER_NODES?: string;
  QUEUE_PREFIX: string;
}

/** ioredis options from a redis:// URL. BullMQ workers need maxRetriesPerRequest: null to block safely. */
export function redisOptions(url: string): RedisOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}

/** `host:port` entries of REDIS_CLUSTER_NODES (already validated by EventsConfig). */
export function clusterNodes(list: string): { host: string; port: number }[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(':');
      return { host: entry.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(entry.slice(at + 1)) };
    });
}

export const isRedisCluster = (target: RedisTarget) => !!target.REDIS_CLUSTER_NODES;

/**
 * BullMQ's key prefix. On a cluster every key a BullMQ script touches must hash to one slot, so the prefix is a
 * hash tag there (`{wms}`: all queues of an installation on one slot). One Redis keeps the plain prefix: changing it
 * would strand the jobs waiting under the old one (README, "Redis Cluster"). Persistent contract.
 */
export const queuePrefix = (target: RedisTarget) =>
  isRedisCluster(target) ? `{${target.QUEUE_PREFIX}}` : target.QUEUE_PREFIX;

/** A new connection to the configured Redis or Redis Cluster; `options` apply to each node's connection. */
export function createRedisClient(target: RedisTarget, options: RedisOptions = {}): Redis | Cluster {
  if (isRedisCluster(target)) {
    const { lazyConnect, enableAutoPipelining, ...nodeOptions } = options;
    return new Cluster(clusterNodes(target.REDIS_CLUSTER_NODES!), {
      lazyConnect,
      enableAutoPipelining,
      // Commands wait (and follow MOVED/ASK) while the cluster settles after a failover, as on one Redis.
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      ...(options.retryStrategy ? { clusterRetryStrategy: options.retryStrategy } : {}),
      redisOptions: { maxRetriesPerRequest: null, ...nodeOptions },
    });
  }
  return new Redis({ ...redisOptions(target.REDIS_URL!), ...options });
}

/**
 * BullMQ's `connection`, and which client its connections are made with, for this process. One Redis: plain options,
 * BullMQ opens and closes its own connections. A cluster: BullMQ's per-process client factory opens an ioredis
 * Cluster for each connection it needs (a queue's, a worker's blocking one, a duplicate), which it then owns and
 * closes as it does on one Redis.
 */
export function bullConnection(target: RedisTarget): ConnectionOptions {
  if (!isRedisCluster(target)) {
    RedisConnection.clientFactory = undefined;
    return redisOptions(target.REDIS_URL!) as ConnectionOptions;
  }
  RedisConnection.clientFactory = ({ connectionName, maxRetriesPerRequest, lazyConnect }) =>
    createIORedisClient(
      createRedisClient(target, { connectionName, maxRetriesPerRequest: maxRetriesPerRequest ?? null, lazyConnect }),
    );
  // Only read by the factory above; host and port come from REDIS_CLUSTER_NODES.
  return { maxRetriesPerRequest: null };
}
