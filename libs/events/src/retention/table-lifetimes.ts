/** Reads one package's config section (EventsConfig, NotificationsConfig, …) as the running process loaded it. */
export type SettingsOf = <C extends object>(section: new () => C) => C;

/** The rows of a table that outlived their lifetime: a condition on its columns, with `$1…` bound to `params`. */
export interface ExpiredRows {
  where: string;
  params: unknown[];
}

/** How long a table's rows live, in words and as the condition the pruner deletes by. */
export interface TableLifetime {
  /** For the README, `tables:prune` and the logs: "IDEMPOTENCY_TTL_HOURS after the first request". */
  lifetime: string;
  /**
   * The expired rows. Supported by an index (the pruner deletes them in small batches, each found through it); the
   * table may be named in a correlated condition (`NOT EXISTS (… WHERE x.id = <table>.id)`).
   */
  expired(settings: SettingsOf): ExpiredRows;
}

const lifetimes = new Map<string, TableLifetime>();
const exempt = new Map<string, string>();

/**
 * Declares how long the rows of `table` live; the package that owns the table declares it next to its repository
 * (like `declareUnique`), so a table added later registers where it is made. The maintenance queue's `prune-tables`
 * job (and `npm run wms -- tables:prune`) deletes expired rows of every declared table, in declaration order — a table
 * whose rows are referenced by another's declares after it.
 */
export function declareLifetime(table: string, lifetime: TableLifetime): void {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`declareLifetime: "${table}" is not a plain table name`);
  lifetimes.set(table, lifetime);
}

/**
 * Declares that rows of `table` are not pruned by age, and why (business records, configuration, a table emptied by
 * its own flow). `schema.*` exempts a whole schema kept by someone else (BullMQ's).
 */
export function declareExempt(table: string, reason: string): void {
  exempt.set(table, reason);
}

/** Every declared lifetime, in declaration order. */
export const tableLifetimes = (): ReadonlyMap<string, TableLifetime> => lifetimes;

/** Every table (or `schema.*`) declared exempt, with the reason. */
export const exemptTables = (): ReadonlyMap<string, string> => exempt;

/** Ours, but not any package's: the migrations' bookkeeping and the queue backend's own schema. */
declareExempt('typeorm_migrations', 'one row per migration applied');
declareExempt('bullmq.*', "BullMQ's Postgres backend: jobs leave it by their removeOnComplete / removeOnFail");
