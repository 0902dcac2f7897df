import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError, readAgainIfLost } from '@wms/events';
import { ALLOW, type AuthenticatedRequest, canSeeWarehouse, PUBLIC, type Role } from './principal.js';
import { TokenService } from './token.service.js';

/**
 * Every HTTP route: who is calling (401 without a valid token), whether their role may call this route
 * and whether the warehouse in the path is theirs (403). Fails closed: a route without a rule is refused.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      throw new DomainError('AUTH.MISSING_TOKEN', 'sign in and send Authorization: Bearer <token>', 'unauthenticated', [
        { field: 'Authorization', reason: 'missing bearer token' },
      ]);
    }
    // Who is calling is a read: a dropped connection is read again, then a 503 that changed nothing.
    const principal = await readAgainIfLost(() => this.tokens.resolve(header.slice(7).trim()));
    if (!principal) {
      throw new DomainError(
        'AUTH.INVALID_TOKEN',
        'the token is invalid, expired or revoked; sign in again (or refresh)',
        'unauthenticated',
        [{ field: 'Authorization', reason: 'invalid, expired or revoked token' }],
      );
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ALLOW, targets) ?? [];
    if (!roles.includes(principal.role)) {
      throw new DomainError('AUTH.FORBIDDEN_ROLE', `a ${principal.role} may not do this`, 'forbidden', [
        { field: 'Authorization', reason: `role ${principal.role} not allowed here` },
      ]);
    }
    const warehouseId = (req.params as { wh?: string } | undefined)?.wh;
    if (warehouseId && !canSeeWarehouse(principal, warehouseId)) {
      throw new DomainError(
        'AUTH.FORBIDDEN_WAREHOUSE',
        `you are not assigned to warehouse ${warehouseId}`,
        'forbidden',
        [{ field: 'warehouseId', reason: 'not one of your warehouses' }],
      );
    }
    req.principal = principal;
    return true;
  }
}
