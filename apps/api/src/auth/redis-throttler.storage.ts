import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { createRedisClient, type RedisTarget } from '@wms/events';
import type { Cluster, Redis } from 'ioredis';
import { FixedWindowStorage, windowRecord } from './fixed-window.storage.js';

/**
 * One fixed window per key in a Redis hash (h: hits, r: resets at, b: blocked until; ms on Redis' clock, so the api
 * hosts' clocks do not matter), counted atomically: every api instance sees the same count. One key per script, so
 * it runs on a Redis Cluster as it is.
 */
const HIT = `
local ttl, limit, block = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = redis.call('HMGET', KEYS[1], 'h', 'r', 'b')
local hits, resetAt, blockedUntil = tonumber(w[1]) or 0, tonumber(w[2]) or 0, tonumber(w[3]) or 0
if resetAt <= now and blockedUntil <= now then
  hits, resetAt, blockedUntil = 1, now + ttl, 0
  redis.call('HSET', KEYS[1], 'h', 1, 'r', resetAt, 'b', 0)
else
  hits = redis.call('HINCRBY', KEYS[1], 'h', 1)
end
if hits > limit and blockedUntil <= now then
  if block > 0 then blockedUntil = now + block else blockedUntil = resetAt end
  redis.call('HSET', KEYS[1], 'b', blockedUntil)
end
redis.call('PEXPIREAT', KEYS[1], math.max(resetAt, blockedUntil))
return { hits, resetAt - now, math.max(0, blockedUntil - now) }
`;

type HitClient = (Redis | Cluster) & {
  throttleHit(key: string, ttl: number, limit: number, block: number): Promise<number[]>;
};

/**
 * @nestjs/throttler's storage in Redis (the full profile), so a limit is one limit across every api instance.
 * Written here rather than taken from @nest-lab/throttler-storage-redis, whose releases accept NestJS ≤ 11 only (an
 * npm peer conflict with NestJS 12) and send the whole script with EVAL on every request; ioredis' defineCommand
 * sends it once and then EVALSHA.
 *
 * While Redis does not answer (down, restarting), requests are limited by this instance's own in-memory window
 * instead of failing: Redis being down never turns a request into an error (the outbox in Postgres holds events).
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly client: HitClient;
  private readonly fallback = new FixedWindowStorage();
  private fallingBack = false;

  constructor(
    redis: RedisTarget,
    private readonly prefix: string,
  ) {
    // Fail fast instead of queueing while disconnected: the fallback answers then. One key per script, so it runs on
    // a Redis Cluster as it is (each key on its own slot). Auto-pipelined: the hits of every request arriving in one
    // tick go out in one write and come back in one read (one syscall and one Redis wake-up, not one per request).
    this.client = createRedisClient(redis, {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
    }) as HitClient;
    this.client.on('error', () => undefined);
    this.client.defineCommand('throttleHit', { numberOfKeys: 1, lua: HIT });
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): ReturnType<ThrottlerStorage['increment']> {
    let reply: number[];
    try {
      reply = await this.client.throttleHit(
        `${this.prefix}:throttle:${throttlerName}:${key}`,
        ttl,
        limit,
        blockDuration,
      );
    } catch (error) {
      if (!this.fallingBack)
        this.logger.warn(
          { error: (error as Error).message },
          'Redis unreachable: rate limits are per instance for now',
        );
      this.fallingBack = true;
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    }
    this.fallingBack = false;
    const [totalHits, resetsInMs, blockedForMs] = reply;
    return windowRecord(totalHits, resetsInMs, blockedForMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.fallback.onApplicationShutdown();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
