import 'reflect-metadata';
import {
  acceptOccurredAt,
  checkDateRange,
  DATE_SHAPE,
  DATE_TIME_SHAPE,
  dateProblem,
  dateTimeProblem,
  DomainError,
  IsStrictDate,
  IsStrictDateTime,
  occurredAtWindow,
} from '@wms/events';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../apps/worker/src/worker-config.js';

const CALENDAR = 'must be a real calendar date';
const YEARS = 'must be in the years 2000–2100';
const TIME = 'must have a time of day from 00:00:00 to 23:59:59';
const OFFSET = 'must have a time-zone offset Z or ±hh:mm with hh ≤ 14 and mm < 60';

const thrown = (work: () => unknown): DomainError => {
  try {
    work();
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('expected a DomainError');
};

describe('strict dates', () => {
  it.each<[string, string | null]>([
    ['2026-11-25T08:30:00Z', null],
    ['2026-11-25T08:30:00.5Z', null],
    ['2026-11-25T08:30:00.123456789+05:30', null],
    ['2026-11-25T08:30:00-03:00', null],
    ['2026-11-25T08:30Z', null],
    ['2026-11-25T23:59:59+14:00', null],
    ['2026-11-25T00:00:00-14:59', null],
    ['2028-02-29T12:00:00Z', null],
    ['2000-02-29T12:00:00Z', null],
    ['2000-01-01T00:00:00Z', null],
    ['2100-12-31T23:59:59Z', null],
    ['2026-02-30T10:00:00Z', CALENDAR],
    ['2026-02-29T10:00:00Z', CALENDAR],
    ['2100-02-29T10:00:00Z', CALENDAR],
    ['2026-04-31T10:00:00Z', CALENDAR],
    ['2026-13-45T10:00:00Z', CALENDAR],
    ['2026-00-10T10:00:00Z', CALENDAR],
    ['2026-11-00T10:00:00Z', CALENDAR],
    ['0000-01-01T00:00:00Z', YEARS],
    ['1999-12-31T23:59:59Z', YEARS],
    ['2101-01-01T00:00:00Z', YEARS],
    ['2026-11-25T24:00:00Z', TIME],
    ['2026-11-25T10:60:00Z', TIME],
    ['2026-11-25T10:00:60Z', TIME],
    ['2026-11-25T10:00:00+15:00', OFFSET],
    ['2026-11-25T10:00:00-05:60', OFFSET],
    ['2027-W13-3', DATE_TIME_SHAPE],
    ['2027-W13-3T10:00:00Z', DATE_TIME_SHAPE],
    ['2026-335', DATE_TIME_SHAPE],
    ['2026-335T10:00:00Z', DATE_TIME_SHAPE],
    ['2026-11-25', DATE_TIME_SHAPE],
    ['2026-11-25T10:00:00', DATE_TIME_SHAPE],
    ['2026-11-25 10:00:00Z', DATE_TIME_SHAPE],
    ['2026-11-25T10:00:00+0530', DATE_TIME_SHAPE],
    ['20261125T100000Z', DATE_TIME_SHAPE],
    ['2026-11-25T10:00:00.Z', DATE_TIME_SHAPE],
    ['2026-11-25T10:00:00.1234567890Z', DATE_TIME_SHAPE],
    ['+002026-11-25T10:00:00Z', DATE_TIME_SHAPE],
    [' 2026-11-25T10:00:00Z', DATE_TIME_SHAPE],
    ['yesterday', DATE_TIME_SHAPE],
  ])('date-time %j → %s', (value, problem) => {
    expect(dateTimeProblem(value)).toBe(problem);
  });

  it.each<[string, string | null]>([
    ['2027-03-31', null],
    ['2028-02-29', null],
    ['2000-01-01', null],
    ['2100-12-31', null],
    ['2026-02-30', CALENDAR],
    ['2027-02-29', CALENDAR],
    ['2027-13-45', CALENDAR],
    ['2027-06-31', CALENDAR],
    ['0000-01-01', YEARS],
    ['1999-12-31', YEARS],
    ['2101-01-01', YEARS],
    ['2027-W13-3', DATE_SHAPE],
    ['2027-090', DATE_SHAPE],
    ['2027-03-31T00:00:00Z', DATE_SHAPE],
    ['2027-3-31', DATE_SHAPE],
    ['31.03.2027', DATE_SHAPE],
  ])('date %j → %s', (value, problem) => {
    expect(dateProblem(value)).toBe(problem);
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 20261125, new Date(), ['2026-11-25T08:30:00Z'], {}]) {
      expect(dateTimeProblem(value)).toBe(DATE_TIME_SHAPE);
      expect(dateProblem(value)).toBe(DATE_SHAPE);
    }
  });

  it('gives class-validator the reason, naming the property', () => {
    class Dto {
      @IsStrictDateTime() at: string;
      @IsStrictDate() on: string;
    }
    const errors = validateSync(plainToInstance(Dto, { at: '2026-02-30T10:00:00Z', on: '2027-W13-3' }));
    expect(errors.map((e) => [e.property, Object.values(e.constraints!)])).toEqual([
      ['at', [`at ${CALENDAR}`]],
      ['on', [`on ${DATE_SHAPE}`]],
    ]);
    expect(validateSync(plainToInstance(Dto, { at: '2026-11-25T08:30:00+05:30', on: '2027-03-31' }))).toEqual([]);
  });

  it('compares the ends of a range as instants, whatever their offsets', () => {
    // 10:00 at +05:30 is 04:30 UTC: before 05:00 UTC, although it reads later.
    expect(() => checkDateRange({ from: '2026-11-25T10:00:00+05:30', to: '2026-11-25T05:00:00Z' })).not.toThrow();
    expect(() => checkDateRange({ from: '2026-11-25T10:00:00Z', to: '2026-11-25T10:00:00Z' })).not.toThrow();
    // 10:00 at -03:00 is 13:00 UTC: after 12:00 UTC, although it reads earlier.
    const after = thrown(() => checkDateRange({ from: '2026-11-25T10:00:00-03:00', to: '2026-11-25T12:00:00Z' }));
    expect(after).toMatchObject({ code: 'REQUEST.INVALID_RANGE', fields: [{ field: 'from', reason: 'is after to' }] });
    const nested = thrown(() =>
      checkDateRange({ from: '2026-11-25T10:00:00.001Z', to: '2026-11-25T10:00:00Z' }, { prefix: 'filter.' }),
    );
    expect(nested.fields).toEqual([{ field: 'filter.from', reason: 'is after filter.to' }]);
    const bad = thrown(() => checkDateRange({ to: '2026-02-30T00:00:00Z' }));
    expect(bad).toMatchObject({ code: 'REQUEST.INVALID_DATE', fields: [{ field: 'to', reason: CALENDAR }] });
  });

  it('accepts occurredAt from OFFLINE_ACCEPT_DAYS back to 24 hours ahead, both ends included', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    const config = { OFFLINE_ACCEPT_DAYS: 7 };
    expect(occurredAtWindow(config, now)).toEqual({
      earliest: new Date('2026-11-18T12:00:00Z'),
      latest: new Date('2026-11-26T12:00:00Z'),
    });
    const accept = (value: string) => acceptOccurredAt(value, config, 'occurredAt', now);
    expect(accept('2026-11-18T12:00:00Z')).toBe('2026-11-18T12:00:00.000Z');
    expect(accept('2026-11-18T17:30:00+05:30')).toBe('2026-11-18T12:00:00.000Z');
    expect(accept('2026-11-26T09:00:00-03:00')).toBe('2026-11-26T12:00:00.000Z');
    for (const outside of ['2026-11-18T11:59:59.999Z', '2026-11-26T12:00:00.001Z', '2026-11-26T12:00:00.001+00:00']) {
      const error = thrown(() => accept(outside));
      expect(error.code, outside).toBe('EVENTS.OCCURRED_AT_OUT_OF_WINDOW');
      expect(error.fields).toEqual([
        {
          field: 'occurredAt',
          reason:
            'must lie between 2026-11-18T12:00:00.000Z and 2026-11-26T12:00:00.000Z (at most 7 days ago and 24 hours ahead)',
        },
      ]);
    }
    expect(thrown(() => accept('2026-11-31T12:00:00Z')).fields).toEqual([{ field: 'occurredAt', reason: CALENDAR }]);
    expect(occurredAtWindow({ OFFLINE_ACCEPT_DAYS: 2 }, now).earliest).toEqual(new Date('2026-11-23T12:00:00Z'));
  });

  it('reads OFFLINE_ACCEPT_DAYS as a positive number of days, 7 unless set', () => {
    const env = { DATABASE_URL: 'postgres://x/y' };
    expect(loadWorkerConfig(env).OFFLINE_ACCEPT_DAYS).toBe(7);
    // Idempotency keys must outlive the window (the boot check has its own test).
    expect(
      loadWorkerConfig({ ...env, OFFLINE_ACCEPT_DAYS: '30', IDEMPOTENCY_TTL_HOURS: '720' }).OFFLINE_ACCEPT_DAYS,
    ).toBe(30);
    for (const bad of ['0', '-1', '1.5', 'week', '3651'])
      expect(() => loadWorkerConfig({ ...env, OFFLINE_ACCEPT_DAYS: bad }), bad).toThrow(
        /OFFLINE_ACCEPT_DAYS must be a whole number of days from 1 to 3650/,
      );
  });
});
