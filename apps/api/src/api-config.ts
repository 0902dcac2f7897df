import 'reflect-metadata';
import { EventsConfig, loadConfig } from '@wms/events';
import { NotificationsConfig } from '@wms/notifications';
import { Transform, Type } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';

/** What the api itself reads: HTTP, sign-in, tokens, rate limits, sockets. */
export class ApiConfig {
  @Type(() => Number)
  @IsInt({ message: 'PORT must be an integer port number' })
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'BODY_LIMIT must look like 64kb or 1mb' })
  BODY_LIMIT = '64kb';

  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  OPENAPI_ENABLED = true;

  /**
   * Signs access tokens; required by the api (the worker does not use it): at least 32 characters, the same on every
   * api instance, never logged.
   */
  @Matches(/^.{32,}$/, { message: 'AUTH_SECRET must be at least 32 characters' })
  AUTH_SECRET: string;

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

  /** Also how long failures are counted. At most a day: the maintenance job forgets a day-old failure whose lock ended. */
  @Type(() => Number)
  @IsInt({ message: 'LOGIN_LOCKOUT_MINUTES must be an integer' })
  @Min(1)
  @Max(1440, { message: 'LOGIN_LOCKOUT_MINUTES must be at most 1440 (a day)' })
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

  /** Socket messages (subscribe, unsubscribe) per minute one device or user may send, on each api instance. */
  @Type(() => Number)
  @IsInt({ message: 'SOCKET_MESSAGES_PER_MINUTE must be an integer' })
  @Min(1)
  SOCKET_MESSAGES_PER_MINUTE = 600;

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

  static prepare(raw: Record<string, unknown>): string[] {
    return raw.AUTH_SECRET
      ? []
      : [
          'AUTH_SECRET is missing: set it to a random string of at least 32 characters (e.g. `openssl rand -base64 48`)',
        ];
  }
}

/** Everything the api process reads: its own section and those of the libraries it runs. */
export type ApiSettings = EventsConfig & NotificationsConfig & ApiConfig;

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiSettings =>
  loadConfig<[EventsConfig, NotificationsConfig, ApiConfig]>([EventsConfig, NotificationsConfig, ApiConfig], env);
