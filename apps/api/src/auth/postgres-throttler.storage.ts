import type { ThrottlerStorage } from '@nestjs/throttler';
import type { RateLimitWindowsRepository } from '@wms/events';

/** @nestjs/throttler's storage in Postgres (the Postgres-only profile): one limit across every api instance. */
export class PostgresThrottlerStorage implements ThrottlerStorage {
  constructor(
    private readonly windows: RateLimitWindowsRepository,
    /** QUEUE_PREFIX: installations (and test runs) sharing a database keep their own counters, as in Redis. */
    private readonly prefix: string,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): ReturnType<ThrottlerStorage['increment']> {
    const hit = await this.windows.hit(`${this.prefix}:${throttlerName}:${key}`, ttl, limit, blockDuration);
    return {
      totalHits: hit.hits,
      timeToExpire: Math.ceil(hit.resetsInMs / 1000),
      isBlocked: hit.blockedForMs > 0,
      timeToBlockExpire: Math.ceil(hit.blockedForMs / 1000),
    };
  }
}
