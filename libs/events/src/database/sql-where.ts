/** Whose rows: a tenant, the warehouses the caller may see (tenant-wide rows too), optionally one of them. */
export interface TenantScope {
  tenantId: string;
  warehouses: string[] | 'all';
  warehouseId?: string;
}

/** A LIKE pattern matching `text` anywhere, its `%`, `_` and `\` taken literally (LIKE's escape is `\`). */
export const containing = (text: string | undefined) =>
  text === undefined || text === '' ? undefined : `%${text.replace(/[\\%_]/g, '\\$&')}%`;

/** Builds a WHERE clause from optional filters: each `?` in a condition becomes the value's `$n`. */
export class SqlWhere {
  private readonly clauses: string[] = [];

  /** `params` shared with another SqlWhere: two clauses of one statement (a subquery's and the outer one). */
  constructor(readonly params: unknown[] = []) {}

  /** Adds the condition when `value` is set (not undefined, null or ''). */
  add(condition: string, value: unknown): this {
    if (value === undefined || value === null || value === '') return this;
    this.params.push(value);
    this.clauses.push(condition.replaceAll('?', `$${this.params.length}`));
    return this;
  }

  /** Rows of the scope's tenant that the caller may see, and of its one warehouse when it names one. */
  scope(s: TenantScope): this {
    return this.add('tenant_id = ?', s.tenantId)
      .add('(warehouse_id IS NULL OR warehouse_id = ANY(?))', s.warehouses === 'all' ? undefined : s.warehouses)
      .add('warehouse_id = ?', s.warehouseId);
  }

  /** Adds the condition when `values[0]` is set; its `?`s take the values in order. */
  addEach(condition: string, values: unknown[]): this {
    if (values[0] === undefined || values[0] === null || values[0] === '') return this;
    let next = 0;
    this.clauses.push(
      condition.replace(/\?/g, () => {
        this.params.push(values[next++]);
        return `$${this.params.length}`;
      }),
    );
    return this;
  }

  /** Adds a condition that needs no value. */
  where(condition: string): this {
    this.clauses.push(condition);
    return this;
  }

  /** A placeholder for a value used outside the conditions (LIMIT, …). */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  get sql(): string {
    return this.clauses.length ? this.clauses.join(' AND ') : 'true';
  }
}
