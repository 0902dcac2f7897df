import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { DomainError } from '@wms/events';
import type { CommandContext } from '@wms/wms-domain';
import { actorOf, type AuthenticatedRequest, idempotencyScope, type Principal } from '../auth/principal.js';

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A header's value; a repeated header (an array) counts as absent. */
const singleHeader = (req: AuthenticatedRequest, name: string): string | undefined => {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/**
 * Who is calling (from the authenticated principal: tenant, actor), and the Idempotency-Key a scanner
 * sent — a resend returns the first answer.
 */
export function requestContext(principal: Principal, req: AuthenticatedRequest): CommandContext {
  const idempotencyKey = singleHeader(req, 'idempotency-key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new DomainError(
      'REQUEST.INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1-128 visible ASCII characters',
      'invalid',
      [{ field: 'Idempotency-Key', reason: 'must be 1-128 visible ASCII characters' }],
    );
  }
  const correlation = singleHeader(req, 'x-correlation-id');
  return {
    tenantId: principal.tenantId,
    actor: actorOf(principal),
    source: principal.kind === 'device' ? 'scanner' : principal.kind === 'integration' ? 'integration' : 'api',
    correlationId: correlation && UUID.test(correlation) ? correlation : undefined,
    idempotencyKey,
    idempotencyScope: idempotencyScope(principal),
  };
}

export const Ctx = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  return requestContext(req.principal!, req);
});
