import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

interface Window {
  hits: number;
  resetAt: number;
  blockedUntil: number;
}

/** @nestjs/throttler's answer for a window: its hits, and how long (ms) until it resets and until its block ends. */
export const windowRecord = (
  hits: number,
  resetsInMs: number,
  blockedForMs: number,
): Awaited<ReturnType<ThrottlerStorage['increment']>> => ({
  totalHits: hits,
  timeToExpire: Math.ceil(Math.max(0, resetsInMs) / 1000),
  isBlocked: blockedForMs > 0,
  timeToBlockExpire: Math.ceil(Math.max(0, blockedForMs) / 1000),
});

/**
 * A counter per key and window for @nestjs/throttler. The built-in store keeps a timestamp per hit,
 * which at scanner rates (a limit of 100k+/min) costs more CPU and garbage than the request itself.
 */
export class FixedWindowStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string) {
    const now = Date.now();
    const id = `${throttlerName}:${key}`;
    let w = this.windows.get(id);
    if (!w || (w.resetAt <= now && w.blockedUntil <= now)) {
      w = { hits: 0, resetAt: now + ttl, blockedUntil: 0 };
      this.windows.set(id, w);
    }
    w.hits++;
    if (w.hits > limit && w.blockedUntil <= now)
      w.blockedUntil = now + (blockDuration > 0 ? blockDuration : w.resetAt - now);
    return windowRecord(w.hits, w.resetAt - now, w.blockedUntil - now);
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, w] of this.windows) if (w.resetAt <= now && w.blockedUntil <= now) this.windows.delete(id);
  }
}
