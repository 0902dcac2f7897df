import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from './principal.js';

/** Limits requests per device, API key or person (per address before sign-in). Runs after AuthGuard. */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async getTracker(req: AuthenticatedRequest): Promise<string> {
    const principal = req.principal;
    return principal ? `${principal.kind}:${principal.id}` : `ip:${req.ip}`;
  }

  /**
   * The counter's key as it is: the built-in one hashes it with SHA-256 on every request (0.5 % of the api's CPU
   * under `npm run bench`), which only matters for a shared store; FixedWindowStorage is this process's own map.
   */
  protected override generateKey(context: ExecutionContext, suffix: string, name: string): string {
    return `${context.getClass().name}-${context.getHandler().name}-${name}-${suffix}`;
  }
}
