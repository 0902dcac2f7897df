import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';

export type QueueConnection = 'redis' | 'postgres';

/**
 * What libs/events reads (and the worker that runs its queues): the database, the queues, retries, the
 * operating tenant and the monitoring thresholds. Loaded with the other packages' sections by loadConfig.
 */
export class EventsConfig {
  @Matches(/^postgres(ql)?:\/\/.+/, {
    message: 'DATABASE_URL must be a postgres:// connection URL, e.g. postgres://postgres@127.0.0.1:5432/wms',
  })
  DATABASE_URL: string;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// URL, e.g. redis://127.0.0.1:6379' })
  REDIS_URL?: string;

  /**
   * A Redis Cluster instead of one Redis: some of its nodes as `host:port,host:port,…` (the client finds the rest).
   * BullMQ's keys then carry the hash tag `{QUEUE_PREFIX}`. Not together with REDIS_URL.
   */
  @IsOptional()
  @ValidateBy({
    name: 'clusterNodeList',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' &&
        value.split(',').every((entry) => {
          const node = /^\s*(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+):(\d{1,5})\s*$/.exec(entry);
          return !!node && Number(node[2]) >= 1 && Number(node[2]) <= 65535;
        }),
      defaultMessage: () =>
        'REDIS_CLUSTER_NODES must be a comma-separated list of host:port cluster nodes, ' +
        'e.g. 10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000',
    },
  })
  REDIS_CLUSTER_NODES?: string;

  /** Like Laravel's QUEUE_CONNECTION; defaults to redis when REDIS_URL or REDIS_CLUSTER_NODES is set, otherwise postgres. */
  @IsIn(['redis', 'postgres'], { message: 'QUEUE_CONNECTION must be "redis" or "postgres"' })
  QUEUE_CONNECTION: QueueConnection;

  @IsString()
  @Matches(/^[a-zA-Z0-9_-]{1,32}$/, { message: 'QUEUE_PREFIX must be 1-32 letters, digits, "_" or "-"' })
  QUEUE_PREFIX = 'wms';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  })
  LOG_LEVEL = 'info';

  @Type(() => Number)
  @IsInt({ message: 'WORKER_CONCURRENCY must be an integer' })
  @Min(1)
  @Max(1000)
  WORKER_CONCURRENCY = 100;

  /** How long a job may run without renewing its lock before another worker takes it over. */
  @Type(() => Number)
  @IsInt({ message: 'WORKER_LOCK_MS must be an integer number of milliseconds' })
  @Min(1000)
  WORKER_LOCK_MS = 30_000;

  /** An outbox row older than this and not yet processed is queued again (e.g. after Redis lost it). */
  @Type(() => Number)
  @IsInt({ message: 'OUTBOX_REDRIVE_AFTER_MS must be an integer number of milliseconds' })
  @Min(100)
  OUTBOX_REDRIVE_AFTER_MS = 15_000;

  @Type(() => Number)
  @IsInt({ message: 'LISTENER_ATTEMPTS must be an integer' })
  @Min(1)
  @Max(50)
  LISTENER_ATTEMPTS = 8;

  @Type(() => Number)
  @IsInt({ message: 'LISTENER_BACKOFF_MS must be an integer number of milliseconds' })
  @Min(1)
  LISTENER_BACKOFF_MS = 1000;

  /**
   * How many days back a caller may date an event (occurredAt): a scanner that was offline, an integration
   * catching up. Later than 24 hours ahead is always refused.
   */
  @Type(() => Number)
  @IsInt({ message: 'OFFLINE_ACCEPT_DAYS must be a whole number of days from 1 to 3650' })
  @Min(1, { message: 'OFFLINE_ACCEPT_DAYS must be a whole number of days from 1 to 3650' })
  @Max(3650, { message: 'OFFLINE_ACCEPT_DAYS must be a whole number of days from 1 to 3650' })
  OFFLINE_ACCEPT_DAYS = 7;

  /**
   * How long an Idempotency-Key is kept (a resend returns the first answer), after which it is pruned. Never shorter
   * than OFFLINE_ACCEPT_DAYS: a scan accepted that late can be resent that late, and must find its key.
   */
  @Type(() => Number)
  @IsInt({ message: 'IDEMPOTENCY_TTL_HOURS must be an integer number of hours' })
  @Min(1, { message: 'IDEMPOTENCY_TTL_HOURS must be an integer number of hours' })
  @ValidateBy({
    name: 'coversOfflineAcceptWindow',
    validator: {
      validate: (hours: number, args) => {
        const days = (args?.object as EventsConfig).OFFLINE_ACCEPT_DAYS;
        // A bad OFFLINE_ACCEPT_DAYS is reported on its own.
        return !Number.isInteger(days) || hours >= days * 24;
      },
      defaultMessage: (args) => {
        const days = (args?.object as EventsConfig).OFFLINE_ACCEPT_DAYS;
        return (
          `IDEMPOTENCY_TTL_HOURS must be at least OFFLINE_ACCEPT_DAYS × 24 = ${days * 24} hours: a scan accepted ` +
          `up to OFFLINE_ACCEPT_DAYS (${days}) days late can be resent that late, and an expired key would apply it twice`
        );
      },
    },
  })
  IDEMPOTENCY_TTL_HOURS = 168;

  /**
   * The hot history, in days: delivery attempts, listener receipts and settled dead letters are pruned after it
   * (and archived event partitions leave the store).
   */
  @Type(() => Number)
  @IsInt({ message: 'EVENT_RETENTION_DAYS must be a whole number of days of at least 1' })
  @Min(1, { message: 'EVENT_RETENTION_DAYS must be a whole number of days of at least 1' })
  EVENT_RETENTION_DAYS = 90;

  /**
   * How long a catch-up cursor (`GET /events/stream?after=`) can be resumed, in hours after the events it points at
   * were stored; an older cursor is answered 410 (fetch the gap by time with GET /events, then resume with `after=now`).
   */
  @Type(() => Number)
  @IsInt({ message: 'CATCH_UP_RETENTION_HOURS must be a whole number of hours from 1 to 8760' })
  @Min(1, { message: 'CATCH_UP_RETENTION_HOURS must be a whole number of hours from 1 to 8760' })
  @Max(8760, { message: 'CATCH_UP_RETENTION_HOURS must be a whole number of hours from 1 to 8760' })
  CATCH_UP_RETENTION_HOURS = 72;

  /**
   * Where whole event partitions past EVENT_RETENTION_DAYS are archived (compressed NDJSON and a manifest per
   * partition) before they are dropped, and where `events:restore` reads them. A local or mounted directory that
   * every worker and the CLI reach; relative to the working directory.
   */
  @IsString()
  @Matches(/\S/, { message: 'ARCHIVE_DIR must be a directory path' })
  ARCHIVE_DIR = '.data/archive';

  /**
   * Lets URLs that users enter (push endpoints, webhooks) reach private, loopback and link-local addresses and
   * use plain http. For tests and closed networks only: otherwise a user could make the worker call internal services.
   */
  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;

  /**
   * The tenant whose admins run the installation: only they see the queue UI and /metrics, which show every
   * tenant's jobs and counts. Unset: nobody does.
   */
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'OPS_TENANT must be a tenant slug' })
  OPS_TENANT?: string;

  @Type(() => Number)
  @IsInt({ message: 'ALERT_BACKLOG_AGE_S must be an integer number of seconds' })
  @Min(1)
  ALERT_BACKLOG_AGE_S = 60;

  @Type(() => Number)
  @Min(0, { message: 'ALERT_ERROR_RATE must be a fraction between 0 and 1' })
  @Max(1, { message: 'ALERT_ERROR_RATE must be a fraction between 0 and 1' })
  ALERT_ERROR_RATE = 0.01;

  @Type(() => Number)
  @IsInt({ message: 'ALERT_P99_LATENCY_MS must be an integer number of milliseconds' })
  @Min(1)
  ALERT_P99_LATENCY_MS = 1000;

  /** How often the thresholds are checked: one check per interval across all workers (a maintenance job scheduler). */
  @Type(() => Number)
  @IsInt({ message: 'ALERT_CHECK_INTERVAL_S must be an integer number of seconds' })
  @Min(1)
  ALERT_CHECK_INTERVAL_S = 30;

  /** Derived defaults and the rules between variables. */
  static prepare(raw: Record<string, unknown>): string[] {
    raw.QUEUE_CONNECTION ??= raw.REDIS_URL || raw.REDIS_CLUSTER_NODES ? 'redis' : 'postgres';
    const problems: string[] = [];
    if (!raw.DATABASE_URL) problems.push('DATABASE_URL is missing: set it to a postgres:// connection URL');
    if (raw.REDIS_URL && raw.REDIS_CLUSTER_NODES)
      problems.push(
        'REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis or REDIS_CLUSTER_NODES ' +
          'for a Redis Cluster, not both',
      );
    else if (raw.QUEUE_CONNECTION === 'redis' && !raw.REDIS_URL && !raw.REDIS_CLUSTER_NODES)
      problems.push(
        'REDIS_URL is missing: QUEUE_CONNECTION=redis needs a redis:// URL (or REDIS_CLUSTER_NODES for a Redis Cluster)',
      );
    return problems;
  }
}
