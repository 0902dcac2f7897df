import type { EventsConfig } from '../config/events-config.js';
import { parseDateTime } from '../dates/strict-dates.js';
import { DomainError } from '../errors/domain-error.js';

/** How far ahead of the server's clock a caller's occurredAt may be (clock skew of devices and partners). */
export const OCCURRED_AT_AHEAD_MS = 24 * 3600_000;

export interface OccurredAtWindow {
  earliest: Date;
  latest: Date;
}

/**
 * When a caller-supplied occurredAt may lie: up to OFFLINE_ACCEPT_DAYS back (a scanner that was offline, an
 * integration catching up) and up to 24 hours ahead; both ends included.
 */
export function occurredAtWindow(
  config: Pick<EventsConfig, 'OFFLINE_ACCEPT_DAYS'>,
  now: Date = new Date(),
): OccurredAtWindow {
  return {
    earliest: new Date(now.getTime() - config.OFFLINE_ACCEPT_DAYS * 86_400_000),
    latest: new Date(now.getTime() + OCCURRED_AT_AHEAD_MS),
  };
}

/** A caller's occurredAt, strictly parsed and inside the window, as UTC ISO-8601; a 400 naming `field` otherwise. */
export function acceptOccurredAt(
  value: string,
  config: Pick<EventsConfig, 'OFFLINE_ACCEPT_DAYS'>,
  field = 'occurredAt',
  now: Date = new Date(),
): string {
  const at = parseDateTime(value, field);
  const { earliest, latest } = occurredAtWindow(config, now);
  if (at < earliest || at > latest) {
    const reason =
      `must lie between ${earliest.toISOString()} and ${latest.toISOString()} ` +
      `(at most ${config.OFFLINE_ACCEPT_DAYS} days ago and 24 hours ahead)`;
    throw new DomainError('EVENTS.OCCURRED_AT_OUT_OF_WINDOW', `${field} ${reason}`, 'invalid', [{ field, reason }]);
  }
  return at.toISOString();
}

/** A caller's occurredAt as acceptOccurredAt takes it, or `now` when none was given (null is "not given"). */
export const acceptedOccurredAt = (
  value: string | null | undefined,
  config: Pick<EventsConfig, 'OFFLINE_ACCEPT_DAYS'>,
  now: string,
): string => (value != null ? acceptOccurredAt(value, config) : now);
