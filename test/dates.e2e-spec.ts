import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { DAY, HOUR, inZone } from './support/dates.js';
import { acceptedEvents, startSystem, type TestSystem, tracking } from './support/system.js';
import { newWarehouse } from './support/warehouse-factory.js';
import { waitFor } from './support/wait-for.js';

const SHAPE = 'must be a full ISO-8601 date-time like 2026-11-25T08:30:00Z';
const DATE_SHAPE = 'must be a calendar date like 2027-03-31';
const CALENDAR = 'must be a real calendar date';
const YEARS = 'must be in the years 2000–2100';
const TIME = 'must have a time of day from 00:00:00 to 23:59:59';
const OFFSET = 'must have a time-zone offset Z or ±hh:mm with hh ≤ 14 and mm < 60';

/** Date-times that look close enough to reach Postgres (and a 500) unless checked field by field. */
const BAD_DATE_TIMES: [string, string][] = [
  ['2026-02-30T10:00:00Z', CALENDAR],
  ['2026-02-29T10:00:00Z', CALENDAR],
  ['2026-13-45T10:00:00Z', CALENDAR],
  ['2027-W13-3', SHAPE],
  ['2027-W13-3T10:00:00Z', SHAPE],
  ['2026-335', SHAPE],
  ['2026-335T10:00:00Z', SHAPE],
  ['0000-01-01T00:00:00Z', YEARS],
  ['1999-12-31T23:59:59Z', YEARS],
  ['2101-01-01T00:00:00Z', YEARS],
  ['2026-11-25T24:00:00Z', TIME],
  ['2026-11-25T10:00:60Z', TIME],
  ['2026-11-25T10:00:00+15:00', OFFSET],
  ['2026-11-25T10:00:00+05:60', OFFSET],
  ['2026-11-25T10:00:00', SHAPE],
  ['2026-11-25', SHAPE],
];

const BAD_DATES: [string, string][] = [
  ['2026-02-30', CALENDAR],
  ['2027-02-29', CALENDAR],
  ['2027-13-45', CALENDAR],
  ['2027-W13-3', DATE_SHAPE],
  ['2027-090', DATE_SHAPE],
  ['0000-01-01', YEARS],
  ['2101-01-01', YEARS],
  ['2027-03-31T00:00:00Z', DATE_SHAPE],
  ['2027-3-31', DATE_SHAPE],
];

const q = encodeURIComponent;

describe('dates on every route', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ env: { OFFLINE_ACCEPT_DAYS: '3' } });
  });
  afterAll(async () => {
    await sys?.close();
  });

  const accepted = () => acceptedEvents(sys.db, sys.tenant);
  const audited = async () =>
    (await sys.db.query('SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1', [sys.tenant])).rows[0]
      .n as number;
  const refused = (res: { status: number; body: any }, field: string, reason: string, label: string) => {
    expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(400);
    // REQUEST.INVALID: the DTO refuses it before any service runs.
    expect(res.body, label).toMatchObject({ code: 'REQUEST.INVALID' });
    expect(res.body.errors, label).toEqual([{ field, reason: expect.stringContaining(reason) }]);
  };
  const good = '2026-11-25T00:00:00Z';

  it('refuses a bad date-time on every route with 400 naming the field, and records and queues nothing', async () => {
    const events = await accepted();
    const audits = await audited();
    for (const [value, reason] of BAD_DATE_TIMES) {
      refused(await sys.get(`/events?from=${q(value)}`), 'from', reason, `GET /events from ${value}`);
      refused(await sys.get(`/events?to=${q(value)}`), 'to', reason, `GET /events to ${value}`);
      refused(await sys.post('/events', { ...tracking(), occurredAt: value }), 'occurredAt', reason, `POST ${value}`);
      refused(await sys.get(`/admin/dead-letters?from=${q(value)}`), 'from', reason, `dead letters from ${value}`);
      refused(await sys.get(`/admin/dead-letters?to=${q(value)}`), 'to', reason, `dead letters to ${value}`);
      refused(await sys.get(`/admin/dead-letters/groups?from=${q(value)}`), 'from', reason, `groups ${value}`);
      refused(
        await sys.post('/admin/dead-letters/retry', { filter: { from: value } }),
        'filter.from',
        reason,
        `bulk retry ${value}`,
      );
      refused(await sys.post('/admin/replays', { from: value, to: good }), 'from', reason, `replay from ${value}`);
      refused(await sys.post('/admin/replays', { from: good, to: value }), 'to', reason, `replay to ${value}`);
    }
    expect(await accepted()).toBe(events);
    expect(await audited()).toBe(audits);
  });

  it('refuses an expiry date that is not a real calendar date, and receives nothing', async () => {
    const w = await newWarehouse(sys, 1);
    const events = await accepted();
    for (const [expiresOn, reason] of BAD_DATES) {
      const res = await sys.post(`/warehouses/${w.wh}/receipts`, {
        barcode: w.sku(1),
        locationCode: 'DOCK-1',
        quantity: 5,
        lot: 'L1',
        expiresOn,
      });
      refused(res, 'expiresOn', reason, `expiresOn ${expiresOn}`);
    }
    const stock = await sys.db.query('SELECT 1 FROM stock WHERE tenant_id = $1 AND warehouse_code = $2', [
      sys.tenant,
      w.wh,
    ]);
    expect(stock.rowCount).toBe(0);
    expect(await accepted()).toBe(events);

    const leapDay = await sys.post(`/warehouses/${w.wh}/receipts`, {
      barcode: w.sku(1),
      locationCode: 'DOCK-1',
      quantity: 5,
      lot: 'L1',
      expiresOn: '2028-02-29',
    });
    expect(leapDay.status, JSON.stringify(leapDay.body)).toBe(201);
    const { rows } = await sys.db.query(
      `SELECT to_char(expires_on, 'YYYY-MM-DD') AS d FROM stock WHERE tenant_id = $1 AND warehouse_code = $2`,
      [sys.tenant, w.wh],
    );
    expect(rows).toEqual([{ d: '2028-02-29' }]);
  });

  it('takes offsets and fractions of a second at their instant, on every route', async () => {
    const instant = new Date(Math.floor((Date.now() - HOUR) / 1000) * 1000 + 123);
    const order = `SO-TZ-${Date.now()}`;
    const posted = await sys.post('/events', {
      ...tracking({ orderNumber: order }),
      occurredAt: inZone(instant, '+05:30').replace('.123', '.123456'),
    });
    expect(posted.status, JSON.stringify(posted.body)).toBe(202);
    const other = await sys.post('/events', {
      ...tracking({ orderNumber: order }),
      occurredAt: inZone(new Date(instant.getTime() - 1), '-03:00'),
    });
    expect(other.status, JSON.stringify(other.body)).toBe(202);
    await waitFor('both stored', async () => (await sys.get(`/events/${other.body.id}`)).status === 200);
    await waitFor('both stored', async () => (await sys.get(`/events/${posted.body.id}`)).status === 200);
    expect((await sys.get(`/events/${posted.body.id}`)).body.occurredAt).toBe(instant.toISOString());
    expect((await sys.get(`/events/${other.body.id}`)).body.occurredAt).toBe(
      new Date(instant.getTime() - 1).toISOString(),
    );

    // [from, to): from the instant (written at +05:30) to 1 ms later (written at -03:00) holds only the first.
    const found = await sys.get(
      `/events?aggregateId=${q(`WH1/${order}`)}&from=${q(inZone(instant, '+05:30'))}` +
        `&to=${q(inZone(new Date(instant.getTime() + 1), '-03:00'))}`,
    );
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    expect(found.body.items.map((e: { id: string }) => e.id)).toEqual([posted.body.id]);

    const from = q(inZone(new Date(instant.getTime() - DAY), '+05:30'));
    const to = q(inZone(new Date(instant.getTime() + DAY), '-03:00'));
    expect((await sys.get(`/admin/dead-letters?from=${from}&to=${to}`)).status).toBe(200);
    expect((await sys.get(`/admin/dead-letters/groups?from=${from}&to=${to}`)).status).toBe(200);
    const dryRun = await sys.post('/admin/dead-letters/retry', {
      filter: { from: inZone(instant, '+05:30'), to: inZone(instant, '-03:00') },
      dryRun: true,
    });
    expect(dryRun.status, JSON.stringify(dryRun.body)).toBe(200);
    expect(dryRun.body).toMatchObject({ dryRun: true, matched: 0 });

    // A replay's ends are both included: the same instant written in two zones is a range of one event.
    const replay = await sys.post('/admin/replays', {
      from: inZone(instant, '+05:30'),
      to: inZone(instant, '-03:00'),
      aggregateId: `WH1/${order}`,
    });
    expect(replay.status, JSON.stringify(replay.body)).toBe(201);
    expect(replay.body).toMatchObject({ events: 1, firstEventId: posted.body.id });
  });

  it('refuses a range whose from is after its to, comparing instants, on every range route', async () => {
    // 10:00 at -03:00 is 13:00 UTC, an hour after `to`, although it reads earlier.
    const from = '2026-11-25T10:00:00-03:00';
    const to = '2026-11-25T12:00:00Z';
    const audits = await audited();
    const range = (res: { status: number; body: any }, code: string, field: string, label: string) => {
      expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body, label).toMatchObject({ code, errors: [{ field }] });
    };
    range(await sys.get(`/events?from=${q(from)}&to=${q(to)}`), 'REQUEST.INVALID_RANGE', 'from', 'events');
    range(await sys.get(`/admin/dead-letters?from=${q(from)}&to=${q(to)}`), 'REQUEST.INVALID_RANGE', 'from', 'list');
    range(
      await sys.get(`/admin/dead-letters/groups?from=${q(from)}&to=${q(to)}`),
      'REQUEST.INVALID_RANGE',
      'from',
      'groups',
    );
    range(
      await sys.post('/admin/dead-letters/retry', { filter: { from, to } }),
      'REQUEST.INVALID_RANGE',
      'filter.from',
      'bulk retry',
    );
    range(await sys.post('/admin/replays', { from, to }), 'REPLAY.RANGE', 'from', 'replay');
    expect(await audited()).toBe(audits);
    // Read as text, 10:00+05:30 is after 05:00Z; as instants (04:30 UTC) it is before.
    expect(
      (await sys.get(`/events?from=${q('2026-11-25T10:00:00+05:30')}&to=${q('2026-11-25T05:00:00Z')}`)).status,
    ).toBe(200);
    expect((await sys.get(`/events?from=${q(to)}&to=${q(to)}`)).status).toBe(200);
  });

  it('accepts occurredAt from OFFLINE_ACCEPT_DAYS back to 24 hours ahead, and nothing outside', async () => {
    const events = await accepted();
    const post = (offsetMs: number, zone = 'Z') =>
      sys.post('/events', { ...tracking(), occurredAt: inZone(new Date(Date.now() + offsetMs), zone) });
    const MINUTE = 60_000;
    // OFFLINE_ACCEPT_DAYS is 3 here: four days back would be inside the default week.
    for (const [offsetMs, zone] of [
      [-3 * DAY + MINUTE, '+05:30'],
      [24 * HOUR - MINUTE, '-03:00'],
    ] as const)
      expect((await post(offsetMs, zone)).status, `${offsetMs}`).toBe(202);
    for (const offsetMs of [-3 * DAY - MINUTE, -4 * DAY, 24 * HOUR + MINUTE, 30 * DAY]) {
      const res = await post(offsetMs, '+05:30');
      expect(res.status, `${offsetMs}`).toBe(400);
      expect(res.body).toMatchObject({
        code: 'EVENTS.OCCURRED_AT_OUT_OF_WINDOW',
        errors: [{ field: 'occurredAt', reason: expect.stringContaining('at most 3 days ago and 24 hours ahead') }],
      });
    }
    expect(await accepted()).toBe(events + 2);
  });

  it('holds the command line to the same dates', () => {
    const wms = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'), '--tenant', sys.tenant, ...args],
        { env: { PATH: process.env.PATH, ...sys.env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000 },
      );
    const calendar = wms('events:replay', '--from', '2026-02-30T00:00:00Z', '--to', good);
    expect(calendar.status).not.toBe(0);
    expect(calendar.stderr).toContain(CALENDAR);
    const week = wms('dead-letters:list', '--since', '2027-W13-3');
    expect(week.status).not.toBe(0);
    expect(week.stderr).toContain(SHAPE);
    const backwards = wms('events:replay', '--from', '2026-11-25T10:00:00-03:00', '--to', '2026-11-25T12:00:00Z');
    expect(backwards.status).toBe(1);
    expect(backwards.stderr).toContain('from must not be after to');
  });
});
