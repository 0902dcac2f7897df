import { ValidateBy, type ValidationOptions } from 'class-validator';
import { DomainError } from '../errors/domain-error.js';

/**
 * The one way dates enter the system — DTOs, query parameters, event payloads, the command line: a full
 * ISO-8601 date-time with an offset (`2026-11-25T08:30:00Z`, `…+05:30`, fractions of a second allowed) or a
 * calendar date (`2027-03-31`), checked field by field. Nothing is normalised: `2026-02-30` is refused, not
 * read as March 2, so Postgres never sees a value it would reject. Week and ordinal dates, missing offsets and
 * years outside 2000–2100 are refused too.
 */
export const EARLIEST_YEAR = 2000;
export const LATEST_YEAR = 2100;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/;

export const DATE_TIME_SHAPE = 'must be a full ISO-8601 date-time like 2026-11-25T08:30:00Z';
export const DATE_SHAPE = 'must be a calendar date like 2027-03-31';

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (y: number, m: number) => (m === 2 ? (isLeap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);

function calendarProblem(year: string, month: string, day: string): string | null {
  const [y, m, d] = [Number(year), Number(month), Number(day)];
  if (m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return 'must be a real calendar date';
  if (y < EARLIEST_YEAR || y > LATEST_YEAR) return `must be in the years ${EARLIEST_YEAR}–${LATEST_YEAR}`;
  return null;
}

/** Why `value` is not a strict date-time, or null when it is one. */
export function dateTimeProblem(value: unknown): string | null {
  const parts = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  if (!parts) return DATE_TIME_SHAPE;
  const [, y, mo, d, h, mi, s = '00', zone, zh, zm] = parts;
  const calendar = calendarProblem(y, mo, d);
  if (calendar) return calendar;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return 'must have a time of day from 00:00:00 to 23:59:59';
  if (zone !== 'Z' && (Number(zh) > 14 || Number(zm) > 59))
    return 'must have a time-zone offset Z or ±hh:mm with hh ≤ 14 and mm < 60';
  return null;
}

/** Why `value` is not a strict calendar date (no time), or null when it is one. */
export function dateProblem(value: unknown): string | null {
  const parts = typeof value === 'string' ? DATE.exec(value) : null;
  if (!parts) return DATE_SHAPE;
  return calendarProblem(parts[1], parts[2], parts[3]);
}

/** The instant a strict date-time names; a 400 naming `field` otherwise. For code that has no DTO. */
export function parseDateTime(value: unknown, field: string): Date {
  const problem = dateTimeProblem(value);
  if (problem)
    throw new DomainError('REQUEST.INVALID_DATE', `${field} ${problem}`, 'invalid', [{ field, reason: problem }]);
  return new Date(value as string);
}

/**
 * Checks both ends of a from/to range strictly and that from is not after to (equal ends are an empty range,
 * not an error). `prefix` names where the range sits in the request (`filter.`).
 */
export function checkDateRange(
  range: { from?: string; to?: string },
  { code = 'REQUEST.INVALID_RANGE', prefix = '' }: { code?: string; prefix?: string } = {},
): void {
  const from = range.from === undefined ? undefined : parseDateTime(range.from, `${prefix}from`);
  const to = range.to === undefined ? undefined : parseDateTime(range.to, `${prefix}to`);
  if (from && to && from.getTime() > to.getTime())
    throw new DomainError(code, `${prefix}from must not be after ${prefix}to`, 'invalid', [
      { field: `${prefix}from`, reason: `is after ${prefix}to` },
    ]);
}

/** class-validator: a strict ISO-8601 date-time with an offset, years 2000–2100. */
export const IsStrictDateTime = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isStrictDateTime',
      validator: {
        validate: (value) => dateTimeProblem(value) === null,
        defaultMessage: (args) => `${args?.property} ${dateTimeProblem(args?.value)}`,
      },
    },
    options,
  );

/** class-validator: a strict calendar date (`2027-03-31`), years 2000–2100. */
export const IsStrictDate = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isStrictDate',
      validator: {
        validate: (value) => dateProblem(value) === null,
        defaultMessage: (args) => `${args?.property} ${dateProblem(args?.value)}`,
      },
    },
    options,
  );
