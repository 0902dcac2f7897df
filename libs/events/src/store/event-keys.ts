import { declareExempt } from '../retention/table-lifetimes.js';

// Persistent contract: event_keys and its partitions (event_keys_pYYYYMMDD, like the store's) hold the business keys
// of the stored events; partitions are made and dropped with the store's (event-partitions.ts).
declareExempt('event_keys', "derived from the store: its partitions are dropped with the store's, whole");

/**
 * A data-modifying CTE (`, keyed AS (…)`) for the store's insert statement: the business keys of the rows of the CTE
 * `stored` (RETURNING id, tenant_id, warehouse_id), taken from the `keys` (a JSON array of normalized keys, see
 * businessKeys in the catalog) of the same id in `input`. In the insert's own statement, so an event is indexed
 * exactly when it is stored, and a redelivered one not twice.
 */
export const indexKeysSql = (stored: string, input: string) => `,
  keyed AS (
    INSERT INTO event_keys (tenant_id, key, event_id, warehouse_id)
    SELECT s.tenant_id, k.key, s.id, s.warehouse_id
    FROM ${stored} s
    JOIN ${input} i ON i.id = s.id
    CROSS JOIN LATERAL jsonb_array_elements_text(i.keys) AS k(key)
    ON CONFLICT DO NOTHING
  )`;
