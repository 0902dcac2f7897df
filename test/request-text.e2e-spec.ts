import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem, tracking } from './support/system.js';

/** One place refuses text Postgres cannot store and JSON too deep to walk, before any validator or handler. */
describe('text and depth of every request', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ worker: false });
  });
  afterAll(async () => {
    await sys?.close();
  });

  const accepted = async () =>
    (
      await sys.db.query(
        `SELECT count(*)::int AS n
         FROM (
           SELECT id FROM event_outbox WHERE envelope->>'tenantId' = $1
           UNION
           SELECT id FROM event_store WHERE tenant_id = $1
         ) e`,
        [sys.tenant],
      )
    ).rows[0].n as number;

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
