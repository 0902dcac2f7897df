import type { EntityManager } from 'typeorm';

/** Rows an UPDATE/DELETE … RETURNING gave back (TypeORM answers those as [rows, affectedCount]). */
export async function changedRows<T = Record<string, unknown>>(
  m: EntityManager,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  const result = await m.query(sql, params);
  return Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number'
    ? result[0]
    : result;
}
