import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { DomainError, PublishContext } from '@wms/events';
import type { Request } from 'express';

const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const DEFAULT_TENANT = 'demo';

/**
 * Who is calling. Until sign-in lands (issue 4) the tenant comes from `X-Tenant-Id` and the actor
 * is the integration named by `X-Actor-Id`; both are replaced by the authenticated principal.
 */
export function requestContext(req: Request): PublishContext {
  const tenantId = (req.header('x-tenant-id') ?? DEFAULT_TENANT).toLowerCase();
  if (!TENANT.test(tenantId)) {
    throw new DomainError('REQUEST.INVALID_TENANT', 'X-Tenant-Id must be a tenant slug', 'invalid', [{ field: 'X-Tenant-Id', reason: 'must be lower-case letters, digits and "-"' }]);
  }
  const correlation = req.header('x-correlation-id');
  return {
    tenantId,
    actor: { type: 'integration', id: (req.header('x-actor-id') ?? 'anonymous').slice(0, 128) },
    source: 'api',
    correlationId: correlation && /^[0-9a-f-]{36}$/i.test(correlation) ? correlation : undefined,
  };
}

export const Ctx = createParamDecorator((_: unknown, ctx: ExecutionContext) => requestContext(ctx.switchToHttp().getRequest<Request>()));
