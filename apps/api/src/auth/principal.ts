import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { EventActor } from '@wms/events';
import type { FastifyRequest } from 'fastify';

export type Role = 'operator' | 'supervisor' | 'admin' | 'integration';
export const USER_ROLES = ['operator', 'supervisor', 'admin'] as const;

/** Who is calling: a person, a scanner device or an integration, always inside one tenant. */
export interface Principal {
  tenantId: string;
  kind: 'user' | 'device' | 'integration';
  id: string;
  role: Role;
  /** The warehouses this principal may act in; admins and unscoped API keys have them all. */
  warehouses: string[] | 'all';
  /** For an API key: the integration it belongs to, which outlives the key when it is rotated. */
  integrationId?: string;
}

/** The actor events and audit rows record for a principal. */
export const actorOf = (p: Principal): EventActor => ({ type: p.kind, id: p.id });

/** Whose Idempotency-Keys these are: one person, one device, or one integration across its rotated keys. */
export const idempotencyScope = (p: Principal): string =>
  p.kind === 'integration' ? `integration:${p.integrationId ?? p.id}` : `${p.kind}:${p.id}`;

export const canSeeWarehouse = (p: Principal, warehouseId: string) =>
  p.warehouses === 'all' || p.warehouses.includes(warehouseId);

export const ALLOW = Symbol('wms:allow');
export const PUBLIC = Symbol('wms:public');

/** The roles that may call a route. A route with neither @Allow nor @Public is refused: access is never open by default. */
export const Allow = (...roles: Role[]) => SetMetadata(ALLOW, roles);
/** A route anyone may call (sign-in, liveness). */
export const Public = () => SetMetadata(PUBLIC, true);

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

export const Auth = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal!,
);
