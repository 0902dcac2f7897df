import type { ThrottlerStorage } from '@nestjs/throttler';
import type { RateLimitWindowsRepository } from '@wms/events';
import { windowRecord } from './fixed-window.storage.js';

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
    return windowRecord(hit.hits, hit.resetsInMs, hit.blockedForMs);
  }
}
