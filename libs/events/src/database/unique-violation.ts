import { DomainError } from '../errors/domain-error.js';

/** What a unique constraint protects, in the words of the api: its error code and the request field. */
interface UniqueMeaning {
  code: string;
  field: string;
}

const meanings = new Map<string, UniqueMeaning>();

/**
 * Declares what a violation of a unique constraint means to a caller; the package that owns the table
 * declares it next to its repository. Undeclared constraints still become a 409, named after their column.
 */
export function declareUnique(constraint: string, code: string, field: string): void {
  meanings.set(constraint, { code, field });
}

const camel = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * A Postgres unique violation (two requests racing for one number, one key) as the 409 the api answers,
 * naming the field; anything else: null. The scope columns (tenant, warehouse) are not the caller's field.
 */
export function uniqueViolationAsConflict(error: unknown): DomainError | null {
  const e = error as { code?: unknown; constraint?: unknown; detail?: unknown };
  if (e?.code !== '23505') return null;
  const declared = typeof e.constraint === 'string' ? meanings.get(e.constraint) : undefined;
  const columns = /^Key \(([^)]*)\)/.exec(typeof e.detail === 'string' ? e.detail : '')?.[1]?.split(', ') ?? [];
  const field =
    declared?.field ?? camel(columns.filter((c) => c !== 'tenant_id' && c !== 'warehouse_code').at(-1) ?? 'id');
  return new DomainError(declared?.code ?? 'REQUEST.DUPLICATE', `${field} already exists`, 'conflict', [
    { field, reason: 'already exists' },
  ]);
}
