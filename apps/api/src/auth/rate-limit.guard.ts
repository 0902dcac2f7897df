import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from './principal.js';

/** Limits requests per device, API key or person (per address before sign-in). Runs after AuthGuard. */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async getTracker(req: AuthenticatedRequest): Promise<string> {
    const principal = req.principal;
    return principal ? `${principal.kind}:${principal.id}` : `ip:${req.ip}`;
  }
}
