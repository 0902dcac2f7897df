import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { DomainError } from '@wms/events';
import type { CommandContext } from '@wms/wms-domain';
import type { Request } from 'express';

const TENANT = /^[a-z0-9][a-z0-9-]{0,62}$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
export const DEFAULT_TENANT = 'demo';

/**
 * Who is calling, and the Idempotency-Key a scanner sent (a resend returns the first answer). Until sign-in lands (issue 4) the tenant comes from `X-Tenant-Id` and the actor
 * is the integration named by `X-Actor-Id`; both are replaced by the authenticated principal.
 */
export function requestContext(req: Request): CommandContext {
  const tenantId = (req.header('x-tenant-id') ?? DEFAULT_TENANT).toLowerCase();
  if (!TENANT.test(tenantId)) {
    throw new DomainError('REQUEST.INVALID_TENANT', 'X-Tenant-Id must be a tenant slug', 'invalid', [{ field: 'X-Tenant-Id', reason: 'must be lower-case letters, digits and "-"' }]);
  }
  const correlation = req.header('x-correlation-id');
  const idempotencyKey = req.header('idempotency-key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new DomainError('REQUEST.INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 1-128 visible ASCII characters', 'invalid', [
      { field: 'Idempotency-Key', reason: 'must be 1-128 visible ASCII characters' },
    ]);
  }
  return {
    idempotencyKey,
    tenantId,
    actor: { type: 'integration', id: (req.header('x-actor-id') ?? 'anonymous').slice(0, 128) },
    source: 'api',
    correlationId: correlation && /^[0-9a-f-]{36}$/i.test(correlation) ? correlation : undefined,
  };
}

export const Ctx = createParamDecorator((_: unknown, ctx: ExecutionContext) => requestContext(ctx.switchToHttp().getRequest<Request>()));
