import { DomainError, type IdempotencyOptions, type PublishContext } from '@wms/events';

/** Who runs a command, from where, and the scanner's Idempotency-Key if it sent one. */
export interface CommandContext extends PublishContext {
  idempotencyKey?: string;
  /** Whose Idempotency-Key it is: the same key from two callers is two requests. */
  idempotencyScope: string;
}

/** The idempotency of one command: a resend of the same command and input returns the first result. */
export const idempotencyFor = (ctx: CommandContext, command: string, input: unknown): IdempotencyOptions | undefined =>
  ctx.idempotencyKey
    ? { tenantId: ctx.tenantId, scope: ctx.idempotencyScope, key: ctx.idempotencyKey, request: { command, input } }
    : undefined;

export const notFound = (code: string, reason: string, field: string) =>
  new DomainError(code, reason, 'not_found', [{ field, reason }]);
export const conflict = (code: string, reason: string, field: string) =>
  new DomainError(code, reason, 'conflict', [{ field, reason }]);
export const invalid = (code: string, reason: string, field: string) =>
  new DomainError(code, reason, 'invalid', [{ field, reason }]);

/** Postgres unique_violation, for "already exists" answers. */
export const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';
