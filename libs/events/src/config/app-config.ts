import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';

export type QueueConnection = 'redis' | 'postgres';

/**
 * Every setting the api and the worker read, validated once at boot.
 * A bad value stops the process with a message naming each bad variable.
 */
export class AppConfig {
  @Matches(/^postgres(ql)?:\/\/.+/, {
    message: 'DATABASE_URL must be a postgres:// connection URL, e.g. postgres://postgres@127.0.0.1:5432/wms',
  })
  DATABASE_URL: string;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// URL, e.g. redis://127.0.0.1:6379' })
  REDIS_URL?: string;

  /** Like Laravel's QUEUE_CONNECTION; defaults to redis when REDIS_URL is set, otherwise postgres. */
  @IsIn(['redis', 'postgres'], { message: 'QUEUE_CONNECTION must be "redis" or "postgres"' })
  QUEUE_CONNECTION: QueueConnection;

  @Type(() => Number)
  @IsInt({ message: 'PORT must be an integer port number' })
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @Matches(/^[a-zA-Z0-9_-]{1,32}$/, { message: 'QUEUE_PREFIX must be 1-32 letters, digits, "_" or "-"' })
  QUEUE_PREFIX = 'wms';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  })
  LOG_LEVEL = 'info';

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'BODY_LIMIT must look like 64kb or 1mb' })
  BODY_LIMIT = '64kb';

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

  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  OPENAPI_ENABLED = true;

  /**
   * Lets URLs that users enter (push endpoints, webhooks) reach private, loopback and link-local addresses and
   * use plain http. For tests and closed networks only: otherwise a user could make the worker call internal services.
   */
  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  OUTBOUND_ALLOW_PRIVATE_NETWORKS = false;

  /**
   * Signs access tokens; required by the api (the worker does not use it): at least 32 characters, the same on every
   * api instance, never logged.
   */
  @IsOptional()
  @Matches(/^.{32,}$/, { message: 'AUTH_SECRET must be at least 32 characters' })
  AUTH_SECRET?: string;

  @Type(() => Number)
  @IsInt({ message: 'ACCESS_TOKEN_TTL_S must be an integer number of seconds' })
  @Min(30)
  @Max(86_400)
  ACCESS_TOKEN_TTL_S = 900;

  @Type(() => Number)
  @IsInt({ message: 'REFRESH_TOKEN_TTL_DAYS must be an integer number of days' })
  @Min(1)
  @Max(365)
  REFRESH_TOKEN_TTL_DAYS = 30;

  /** Consecutive failed sign-ins before an account is locked for LOGIN_LOCKOUT_MINUTES. */
  @Type(() => Number)
  @IsInt({ message: 'LOGIN_MAX_FAILURES must be an integer' })
  @Min(1)
  LOGIN_MAX_FAILURES = 5;

  @Type(() => Number)
  @IsInt({ message: 'LOGIN_LOCKOUT_MINUTES must be an integer' })
  @Min(1)
  LOGIN_LOCKOUT_MINUTES = 15;

  /** How long a device token or API key lookup is cached; a revocation takes effect within this time. */
  @Type(() => Number)
  @IsInt({ message: 'AUTH_CACHE_MS must be an integer number of milliseconds' })
  @Min(0)
  AUTH_CACHE_MS = 5000;

  /** How often an open socket's token is checked again; an expired or revoked one is disconnected. */
  @Type(() => Number)
  @IsInt({ message: 'SOCKET_REAUTH_MS must be an integer number of milliseconds' })
  @Min(50)
  SOCKET_REAUTH_MS = 30_000;

  /** Requests per minute one device, API key or user may make (429 above it). */
  @Type(() => Number)
  @IsInt({ message: 'RATE_LIMIT_PER_MINUTE must be an integer' })
  @Min(1)
  RATE_LIMIT_PER_MINUTE = 120_000;

  /** Sign-in attempts per minute from one address (429 above it). */
  @Type(() => Number)
  @IsInt({ message: 'LOGIN_RATE_PER_MINUTE must be an integer' })
  @Min(1)
  LOGIN_RATE_PER_MINUTE = 20;

  // ── notifications ──────────────────────────────────────────────────────────
  /** Outgoing mail server; email notifications are skipped (and say so) without it. */
  @IsOptional()
  @Matches(/^smtps?:\/\/.+/, {
    message: 'SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587',
  })
  SMTP_URL?: string;

  @Matches(/^.+@.+$/, { message: 'MAIL_FROM must be an email address, e.g. "WMS alerts <alerts@example.com>"' })
  MAIL_FROM = 'WMS alerts <alerts@wms.local>';

  @IsOptional()
  @Matches(/^AC[0-9a-fA-F]{32}$/, { message: 'TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits' })
  TWILIO_ACCOUNT_SID?: string;

  @IsOptional()
  @IsString()
  TWILIO_AUTH_TOKEN?: string;

  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'TWILIO_FROM must be a phone number in E.164 form, like +3197010203040' })
  TWILIO_FROM?: string;

  /** Only to point the SDK at a stand-in of Twilio's API (staging, tests); unset means api.twilio.com. */
  @IsOptional()
  @Matches(/^https?:\/\/.+/, { message: 'TWILIO_API_BASE_URL must be an http(s) URL' })
  TWILIO_API_BASE_URL?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{80,100}$/, {
    message: 'VAPID_PUBLIC_KEY must be a base64url VAPID public key (npx web-push generate-vapid-keys)',
  })
  VAPID_PUBLIC_KEY?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{40,50}$/, { message: 'VAPID_PRIVATE_KEY must be a base64url VAPID private key' })
  VAPID_PRIVATE_KEY?: string;

  @Matches(/^(mailto:|https:).+/, { message: 'VAPID_SUBJECT must be a mailto: or https: URL' })
  VAPID_SUBJECT = 'mailto:alerts@wms.local';

  /** A CA certificate file to trust for push endpoints (a private push service); unset = the system's CAs. */
  @IsOptional()
  @IsString()
  PUSH_TLS_CA_FILE?: string;

  /** The same alert about the same thing goes to one recipient on one channel at most once per window. */
  @Type(() => Number)
  @IsInt({ message: 'NOTIFY_DEDUP_WINDOW_S must be an integer number of seconds' })
  @Min(0)
  NOTIFY_DEDUP_WINDOW_S = 3600;

  /** SMS to one phone within this window are grouped into one message. */
  @Type(() => Number)
  @IsInt({ message: 'SMS_GROUP_WINDOW_S must be an integer number of seconds' })
  @Min(0)
  SMS_GROUP_WINDOW_S = 60;

  @Type(() => Number)
  @IsInt({ message: 'SMS_DAILY_BUDGET must be an integer' })
  @Min(0)
  SMS_DAILY_BUDGET = 200;

  /** How often a recipient who chose the email digest gets it. */
  @Type(() => Number)
  @IsInt({ message: 'EMAIL_DIGEST_WINDOW_S must be an integer number of seconds' })
  @Min(1)
  EMAIL_DIGEST_WINDOW_S = 3600;

  @Type(() => Number)
  @IsInt({ message: 'DELIVERY_ATTEMPTS must be an integer' })
  @Min(1)
  @Max(50)
  DELIVERY_ATTEMPTS = 6;

  @Type(() => Number)
  @IsInt({ message: 'DELIVERY_BACKOFF_MS must be an integer number of milliseconds' })
  @Min(1)
  DELIVERY_BACKOFF_MS = 2000;

  /**
   * The tenant whose admins run the installation: only they see the queue UI and /metrics, which show every
   * tenant's jobs and counts. Unset: nobody does.
   */
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'OPS_TENANT must be a tenant slug' })
  OPS_TENANT?: string;

  // ── dashboard alert thresholds ─────────────────────────────────────────────
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
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration — fix these environment variables and start again:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** The api's configuration: everything in AppConfig, plus the token-signing secret. */
export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): AppConfig & { AUTH_SECRET: string } {
  let problems: string[] = [];
  let config: AppConfig | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = error.problems;
  }
  if (!env.AUTH_SECRET)
    problems.push(
      'AUTH_SECRET is missing: set it to a random string of at least 32 characters (e.g. `openssl rand -base64 48`)',
    );
  if (problems.length || !config) throw new ConfigError(problems);
  return config as AppConfig & { AUTH_SECRET: string };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') raw[key] = value;
  raw.QUEUE_CONNECTION ??= raw.REDIS_URL ? 'redis' : 'postgres';
  const config = plainToInstance(AppConfig, raw, { excludeExtraneousValues: false });
  const problems: string[] = [];
  if (!raw.DATABASE_URL) problems.push('DATABASE_URL is missing: set it to a postgres:// connection URL');
  if (config.QUEUE_CONNECTION === 'redis' && !raw.REDIS_URL)
    problems.push('REDIS_URL is missing: QUEUE_CONNECTION=redis needs a redis:// URL');
  for (const error of validateSync(config, { skipMissingProperties: false })) {
    if (error.property === 'DATABASE_URL' && !raw.DATABASE_URL) continue;
    problems.push(
      ...Object.values(error.constraints ?? {}).map((m) => `${m} (got ${JSON.stringify(raw[error.property])})`),
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}
