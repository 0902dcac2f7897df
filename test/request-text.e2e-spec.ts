import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { acceptedEvents, startSystem, type TestSystem, tracking } from './support/system.js';

/** One place refuses text Postgres cannot store and JSON too deep to walk, before any validator or handler. */
describe('text and depth of every request', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ worker: false });
  });
  afterAll(async () => {
    await sys?.close();
  });

  const accepted = () => acceptedEvents(sys.db, sys.tenant);

  it('refuses NUL and lone surrogates anywhere in a body, naming the field, and records nothing', async () => {
    const before = await accepted();
    const cases: [unknown, string][] = [
      [tracking({ trackingNumber: 'JD\u00000001' }), 'payload.trackingNumber'],
      [tracking({ trackingNumber: 'JD\ud8000001' }), 'payload.trackingNumber'],
      [tracking({ carrierCode: 'DHL\udc00' }), 'payload.carrierCode'],
      [{ ...tracking(), payload: { ...tracking().payload, 'bad\u0000key': 1 } }, 'payload.bad\u0000key'],
      [{ ...tracking(), correlationId: ['ok', 'x\u0000'] }, 'correlationId.1'],
    ];
    for (const [body, field] of cases) {
      const res = await sys.post('/events', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ code: 'REQUEST.INVALID_TEXT', errors: [{ field }] });
    }
    // A valid surrogate pair (an emoji) is text like any other.
    expect((await sys.post('/events', tracking({ trackingNumber: 'JD-\ud83d\udce6' }))).status).toBe(202);
    expect(await accepted()).toBe(before + 1);
  });

  it('refuses NUL in the query and the path, naming the parameter', async () => {
    const query = await sys.get('/events?text=SO%001');
    expect(query.status).toBe(400);
    expect(query.body).toMatchObject({ code: 'REQUEST.INVALID_TEXT', errors: [{ field: 'text' }] });
    const param = await sys.get('/warehouses/WH%001/stock');
    expect(param.status).toBe(400);
    expect(param.body).toMatchObject({ code: 'REQUEST.INVALID_TEXT', errors: [{ field: 'wh' }] });
  });

  it('answers a malformed URL and an over-long path parameter in the error shape, like any refusal', async () => {
    for (const [path, status, code] of [
      ['/warehouses/%zz/stock', 400, 'REQUEST.BAD_URL'],
      ['/warehouses/%ED%A0%80/stock', 400, 'REQUEST.BAD_URL'],
      [`/warehouses/${'A'.repeat(101)}/stock`, 414, 'REQUEST.PATH_TOO_LONG'],
    ] as const) {
      const res = await sys.get(path);
      expect(res.status, path).toBe(status);
      expect(res.body).toEqual({ statusCode: status, code, message: expect.any(String), errors: [expect.any(Object)] });
      expect(res.body.errors[0].field).toBe('path');
    }
  });

  it('refuses unknown fields named like Object.prototype members, which the whitelist would let through', async () => {
    const before = await accepted();
    const warehouse = { code: 'WH-PROTO', name: 'Proto' };
    for (const key of ['constructor', 'prototype', 'hasOwnProperty', 'toString']) {
      const res = await sys.post('/warehouses', { ...warehouse, [key]: 1 });
      expect(res.status, key).toBe(400);
      expect(res.body).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: key }] });
    }
    const nested = await sys.post('/admin/dead-letters/retry', { filter: { valueOf: 'x' }, dryRun: true });
    expect(nested.body).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: 'filter.valueOf' }] });
    const payload = await sys.post('/events', { ...tracking(), payload: { ...tracking().payload, constructor: 1 } });
    expect(payload.body).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: 'payload.constructor' }] });
    const query = await sys.get('/events?toString=1');
    expect(query.body).toMatchObject({ code: 'REQUEST.INVALID', errors: [{ field: 'toString' }] });
    expect(
      (await sys.db.query(`SELECT 1 FROM warehouses WHERE tenant_id = $1 AND code = 'WH-PROTO'`, [sys.tenant]))
        .rowCount,
    ).toBe(0);
    expect(await accepted()).toBe(before);
  });

  it('refuses JSON nested deeper than 32 levels before anything walks it, even unauthenticated', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const login = await sys.post('/auth/login', `{"email":"a@b.c","password":${deep}}`, { authorization: '' });
    expect(login.status).toBe(400);
    expect(login.body).toMatchObject({ code: 'REQUEST.TOO_DEEP', errors: [{ field: 'body' }] });
    // Brackets inside strings are text, not nesting.
    const text = await sys.post('/auth/login', { email: 'a@b.c', password: '['.repeat(100) }, { authorization: '' });
    expect(text.body.code).not.toBe('REQUEST.TOO_DEEP');
    const nested = (n: number): unknown => (n === 0 ? 'x' : { a: nested(n - 1) });
    expect((await sys.post('/events', { ...tracking(), payload: nested(31) })).body.code).not.toBe('REQUEST.TOO_DEEP');
    expect((await sys.post('/events', { ...tracking(), payload: nested(32) })).body.code).toBe('REQUEST.TOO_DEEP');
  });
});

describe('socket messages', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ worker: false, env: { SOCKET_MESSAGES_PER_MINUTE: '40' } });
  });
  afterAll(async () => {
    await sys?.close();
  });

  const connect = async (token: string) => {
    const socket = io(sys.url, { transports: ['websocket'], auth: { token }, reconnection: false });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
    return socket;
  };

  it('validates subscriptions like bodies: an error ack, never an internal error', async () => {
    const socket = await connect(sys.tokens.admin);
    try {
      for (const bad of [
        null,
        'WH1',
        42,
        [],
        { warehouseId: 7 },
        { warehouseId: 'WH1', extra: 1 },
        { names: 'all' },
        { names: ['no.such_event'] },
      ]) {
        const ack = await socket
          .timeout(2000)
          .emitWithAck('subscribe', bad)
          .catch(() => `timeout for ${JSON.stringify(bad)}`);
        expect(ack, JSON.stringify(bad)).toMatchObject({
          ok: false,
          code: 'SOCKET.INVALID_SUBSCRIPTION',
        });
      }
      expect(
        await socket
          .timeout(5000)
          .emitWithAck('subscribe', { warehouseId: 'WH1', names: ['carrier.tracking_updated'] }),
      ).toMatchObject({ ok: true });
    } finally {
      socket.close();
    }
  });

  it('lets one socket follow a bounded number of warehouses, and limits messages per caller', async () => {
    // A caller of its own: the limit counts per person, across their sockets.
    const { tokens } = await sys.newTenant();
    const socket = await connect(tokens.admin);
    try {
      const answers: { ok: boolean; code?: string }[] = [];
      for (let i = 0; i < 40; i++)
        answers.push(await socket.timeout(5000).emitWithAck('subscribe', { warehouseId: `W${i}` }));
      expect(answers.every((a) => a.ok)).toBe(true);
      // The caller's 41st message this minute, on a second socket of the same person, is refused.
      const second = await connect(tokens.admin);
      expect(await second.timeout(5000).emitWithAck('subscribe', { warehouseId: 'W1' })).toMatchObject({
        ok: false,
        code: 'RATE_LIMITED',
      });
      second.close();
    } finally {
      socket.close();
    }
  });
});

describe('socket rooms', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ worker: false });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('lets one socket follow at most 100 warehouses, and every event name of each', async () => {
    const socket = io(sys.url, { transports: ['websocket'], auth: { token: sys.tokens.admin }, reconnection: false });
    try {
      const ask = (body: unknown) => socket.timeout(5000).emitWithAck('subscribe', body);
      for (let i = 0; i < 100; i++) expect(await ask({ warehouseId: `W${i}` })).toMatchObject({ ok: true });
      expect(await ask({ warehouseId: 'W100' })).toMatchObject({ ok: false, code: 'SOCKET.TOO_MANY_ROOMS' });
      // More rooms in a warehouse it already follows are fine, up to one per event type.
      expect(await ask({ warehouseId: 'W1', names: ['carrier.tracking_updated'] })).toMatchObject({ ok: true });
    } finally {
      socket.close();
    }
  });
});
