import type { EntityManager } from 'typeorm';

/** True when the query finds a row. */
export async function hasRow(m: EntityManager, sql: string, params: unknown[]): Promise<boolean> {
  const rows: unknown[] = await m.query(sql, params);
  return rows.length > 0;
}

/** The `status` of the row `where` names in `table`, locked until commit; undefined when there is none. */
export async function lockedStatus<S extends string>(
  m: EntityManager,
  table: string,
  where: string,
  params: unknown[],
): Promise<S | undefined> {
  const [row] = await m.query(
    `SELECT status
     FROM ${table}
     WHERE ${where}
     FOR UPDATE`,
    params,
  );
  return row?.status;
}
