import { SignJWT } from 'jose';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from './support/api-routes.js';
import { testEnv } from './support/env.js';
import { startSystem, TEST_AUTH_SECRET, TEST_PASSWORD, TestSystem, tracking } from './support/system.js';
import { waitFor } from './support/wait-for.js';

type Caller = 'operator' | 'supervisor' | 'admin' | 'integration' | 'device';
const STAFF: Caller[] = ['operator', 'supervisor', 'admin', 'device'];

/**
 * Who may call each route. Every route of the api must be listed here: a new route without an entry fails
 * this suite, so nothing ships unguarded. `public` routes need no token.
 */
const ACCESS: Record<string, Caller[] | 'public'> = {
  'GET /health': 'public',
  'GET /health/live': 'public',
  'POST /auth/login': 'public',
  'POST /auth/refresh': 'public',
  'POST /auth/logout': 'public',
  'POST /auth/set-password': 'public',
  'GET /auth/me': ['operator', 'supervisor', 'admin', 'integration', 'device'],
  'POST /events': ['integration', 'admin'],
  'POST /events/batch': ['integration', 'admin'],
  'GET /events': ['supervisor', 'admin'],
  'GET /events/stream': ['operator', 'supervisor', 'admin', 'integration', 'device'],
  'GET /events/:id': ['supervisor', 'admin'],
  'GET /event-types': ['operator', 'supervisor', 'admin', 'integration', 'device'],
  'GET /admin/users': ['admin'],
  'POST /admin/users': ['admin'],
  'PATCH /admin/users/:id': ['admin'],
  'POST /admin/users/:id/unlock': ['admin'],
  'POST /admin/devices': ['admin'],
  'DELETE /admin/devices/:id': ['admin'],
  'POST /admin/api-keys': ['admin'],
  'POST /admin/api-keys/:id/rotate': ['admin'],
  'DELETE /admin/api-keys/:id': ['admin'],
  'GET /admin/tenants': ['admin'],
  'POST /admin/tenants': ['admin'],
  'POST /admin/tenants/:id/admin-code': ['admin'],
  'POST /admin/tenants/:id/suspend': ['admin'],
  'POST /admin/tenants/:id/resume': ['admin'],
  'GET /admin/audit': ['admin'],
  'POST /warehouses': ['admin'],
  'POST /warehouses/:wh/zones': ['admin'],
  'POST /warehouses/:wh/locations': ['admin'],
  'POST /warehouses/:wh/locations/:code/block': ['supervisor', 'admin'],
  'POST /warehouses/:wh/locations/:code/unblock': ['supervisor', 'admin'],
  'POST /products': ['admin'],
  'PATCH /products/:sku': ['admin'],
  'POST /products/:sku/discontinue': ['admin'],
  'POST /suppliers': ['admin'],
  'POST /customers': ['admin'],
  'POST /carriers': ['admin'],
  'POST /warehouses/:wh/asns': STAFF,
  'POST /warehouses/:wh/asns/:number/close': STAFF,
  'POST /warehouses/:wh/receipts': STAFF,
  'POST /warehouses/:wh/holds': STAFF,
  'POST /warehouses/:wh/holds/release': STAFF,
  'POST /warehouses/:wh/putaways': STAFF,
  'POST /warehouses/:wh/adjustments': STAFF,
  'POST /warehouses/:wh/moves': STAFF,
  'POST /warehouses/:wh/counts': STAFF,
  'POST /warehouses/:wh/scans/batch': STAFF,
  'GET /warehouses/:wh/stock': STAFF,
  'POST /warehouses/:wh/orders': STAFF,
  'GET /warehouses/:wh/orders/:number': STAFF,
  'POST /warehouses/:wh/orders/:number/allocate': STAFF,
  'POST /warehouses/:wh/picks/:taskId': STAFF,
  'POST /warehouses/:wh/orders/:number/pack': STAFF,
  'POST /warehouses/:wh/orders/:number/ship': STAFF,
  'POST /warehouses/:wh/orders/:number/cancel': STAFF,
  // Devices pass the role check for /me (they act as operators) and are then told only people have an inbox (400).
  'GET /me/notifications': STAFF,
  'POST /me/notifications/:id/read': STAFF,
  'POST /me/notifications/read-all': STAFF,
  'GET /me/notification-preferences': STAFF,
  'PUT /me/notification-preferences': STAFF,
  'GET /me/push-subscriptions/vapid-public-key': STAFF,
  'POST /me/push-subscriptions': STAFF,
  'DELETE /me/push-subscriptions/:id': STAFF,
  'GET /notification-rules': ['admin'],
  'POST /notification-rules': ['admin'],
  'PUT /notification-rules/:id': ['admin'],
  'DELETE /notification-rules/:id': ['admin'],
  'GET /admin/dead-letters': ['admin'],
  'GET /admin/dead-letters/groups': ['admin'],
  'GET /admin/dead-letters/:id': ['admin'],
  'POST /admin/dead-letters/:id/retry': ['admin'],
  'POST /admin/dead-letters/retry': ['admin'],
  'POST /admin/dead-letters/:id/discard': ['admin'],
  'POST /admin/replays': ['admin'],
  'POST /admin/listeners/:listener/rebuild': ['admin'],
  'GET /admin/listeners/:listener/rebuilds/:id': ['admin'],
  'GET /dashboard/stats': ['supervisor', 'admin'],
  'GET /metrics': ['admin', 'integration'],
};

const SAMPLE_PARAMS: Record<string, string> = {
  wh: 'WH1',
  id: '01900000-0000-7000-8000-000000000000',
  code: 'A-01',
  sku: 'SKU-X',
  number: 'SO-1',
  taskId: '01900000-0000-7000-8000-000000000001',
  listener: 'route-notifications-when-event-stored',
};

describe('sign-in, roles and warehouse scoping', () => {
  let sys: TestSystem;
  let callers: Record<Caller, string>;
  beforeAll(async () => {
    sys = await startSystem({ env: { AUTH_CACHE_MS: '100', LOGIN_MAX_FAILURES: '5', SOCKET_REAUTH_MS: '200' } });
    const device = await sys.post('/admin/devices', { name: 'scanner 1', warehouses: ['WH1'] });
    const key = await sys.post('/admin/api-keys', { name: 'erp', warehouses: [] });
    expect(device.status).toBe(201);
    expect(key.status).toBe(201);
    callers = { ...sys.tokens, device: device.body.token, integration: key.body.token };
  });
  afterAll(async () => {
    await sys?.close();
  });

  const call = (method: string, path: string, token?: string, body: unknown = {}) =>
    fetch(`${sys.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: method === 'GET' ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined), headers: r.headers }));

  it('lists every route of the api in the access table', () => {
    expect(apiRoutes(sys.api).map((r) => r.route)).toEqual(Object.keys(ACCESS).sort());
  });

  it('answers 401 without a token and 403 to roles a route does not allow, on every route', async () => {
    const failures: string[] = [];
    for (const [route, allowed] of Object.entries(ACCESS)) {
      const [method, pattern] = route.split(' ');
      const path = pattern.replace(/:(\w+)/g, (_, p: string) => SAMPLE_PARAMS[p]);
      if (allowed === 'public') continue;
      const anonymous = await call(method, path);
      if (anonymous.status !== 401) failures.push(`${route} without a token: ${anonymous.status}`);
      for (const caller of Object.keys(callers) as Caller[]) {
        const res = await call(method, path, callers[caller]);
        const ok = allowed.includes(caller);
        if (ok && (res.status === 401 || res.status === 403))
          failures.push(`${route} as ${caller}: ${res.status} ${res.body?.code}`);
        if (!ok && res.status !== 403) failures.push(`${route} as ${caller}: expected 403, got ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses warehouses that are not the caller’s, and changes nothing', async () => {
    for (const caller of ['operator', 'supervisor', 'device'] as Caller[]) {
      const res = await call('GET', '/warehouses/WH9/stock', callers[caller]);
      expect(res.status, caller).toBe(403);
      expect(res.body.code).toBe('AUTH.FORBIDDEN_WAREHOUSE');
    }
    const events = await call('GET', '/events?warehouseId=WH9', callers.supervisor);
    expect(events.status).toBe(403);
    expect((await call('GET', '/warehouses/WH9/stock', callers.admin)).status).toBe(200);
  });

  it('lets an API key scoped to warehouses publish only for those', async () => {
    const key = (await sys.post('/admin/api-keys', { name: 'wh1 only', warehouses: ['WH1'] })).body.token;
    expect((await call('POST', '/events', key, tracking({ warehouseId: 'WH1', orderNumber: 'SO-KEY1' }))).status).toBe(
      202,
    );
    const refused = await call('POST', '/events', key, tracking({ warehouseId: 'WH2', orderNumber: 'SO-KEY2' }));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      code: 'AUTH.FORBIDDEN_WAREHOUSE',
      errors: [{ field: 'payload.warehouseId' }],
    });
    expect(
      (
        await sys.db.query(
          `SELECT 1 FROM event_outbox WHERE envelope->'payload'->>'orderNumber' = 'SO-KEY2'
           UNION ALL
           SELECT 1 FROM event_store WHERE payload->>'orderNumber' = 'SO-KEY2'`,
        )
      ).rowCount,
    ).toBe(0);
  });

  it('shows a supervisor only the events of their warehouses', async () => {
    // WH9: a warehouse of the tenant that the supervisor is not assigned to.
    expect((await sys.post('/warehouses', { code: 'WH9', name: 'Not theirs' })).status).toBe(201);
    for (const wh of ['WH1', 'WH9'])
      expect((await sys.post('/events', tracking({ warehouseId: wh, orderNumber: `SO-SCOPE-${wh}` }))).status).toBe(
        202,
      );
    await waitFor(
      'both stored',
      async () =>
        (await sys.get('/events?name=carrier.tracking_updated&limit=500')).body.items.filter(
          (e: { payload: { orderNumber: string } }) => e.payload.orderNumber.startsWith('SO-SCOPE'),
        ).length === 2,
    );
    const seen = await call('GET', '/events?limit=500', callers.supervisor);
    const warehouses = new Set(seen.body.items.map((e: { warehouseId: string }) => e.warehouseId));
    expect(warehouses.has('WH1')).toBe(true);
    expect(warehouses.has('WH9')).toBe(false);
    const hidden = (await sys.get('/events?warehouseId=WH9&limit=1')).body.items[0];
    expect((await call('GET', `/events/${hidden.id}`, callers.supervisor)).status).toBe(404);
  });

  it('rejects tampered, expired and foreign tokens with 401', async () => {
    const [head, payload, signature] = sys.tokens.admin.split('.');
    const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin', tid: 'other' };
    const tampered = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const key = new TextEncoder().encode(TEST_AUTH_SECRET);
    const expired = await new SignJWT({ tid: sys.tenant, role: 'admin', wh: 'all' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(key);
    const foreign = await new SignJWT({ tid: sys.tenant, role: 'admin', wh: 'all' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    for (const token of [tampered, expired, foreign, 'wmsd_not-a-real-token', 'garbage']) {
      const res = await call('GET', '/auth/me', token);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('AUTH.INVALID_TOKEN');
    }
  });

  it('refuses an access token the moment it expires, though it was accepted a moment before', async () => {
    const { sub, tid } = JSON.parse(Buffer.from(sys.tokens.admin.split('.')[1], 'base64url').toString());
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const shortLived = await new SignJWT({ tid, role: 'admin', wh: 'all' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode(TEST_AUTH_SECRET));
    // Accepted (and remembered as verified) while it is valid…
    expect((await call('GET', '/auth/me', shortLived)).status).toBe(200);
    await new Promise((r) => setTimeout(r, expiresAt * 1000 - Date.now() + 50));
    // …refused once its `exp` has passed: a verified token is trusted until it expires, not longer.
    const res = await call('GET', '/auth/me', shortLived);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('AUTH.INVALID_TOKEN');
  });

  it('rotates refresh tokens: each works once, and logout revokes it', async () => {
    const session = await sys.login(`operator@${sys.tenant}.local`);
    const first = await call('POST', '/auth/refresh', undefined, { refreshToken: session.body.refreshToken });
    expect(first.status).toBe(200);
    expect((await call('GET', '/auth/me', first.body.accessToken)).body).toMatchObject({
      role: 'operator',
      warehouses: ['WH1', 'WH2'],
    });
    expect((await call('POST', '/auth/refresh', undefined, { refreshToken: session.body.refreshToken })).status).toBe(
      401,
    );
    expect((await call('POST', '/auth/logout', undefined, { refreshToken: first.body.refreshToken })).status).toBe(204);
    expect((await call('POST', '/auth/refresh', undefined, { refreshToken: first.body.refreshToken })).status).toBe(
      401,
    );
  });

  it('revokes a device token, audited', async () => {
    const device = await sys.post('/admin/devices', { name: 'scanner 2', warehouses: ['WH1'] });
    expect((await call('GET', '/warehouses/WH1/stock', device.body.token)).status).toBe(200);
    const res = await call('DELETE', `/admin/devices/${device.body.id}`, sys.tokens.admin);
    expect(res.body).toEqual({ id: device.body.id, revoked: true });
    await waitFor(
      'the revoked token to be refused',
      async () => (await call('GET', '/warehouses/WH1/stock', device.body.token)).status === 401,
      5000,
    );
    expect((await call('DELETE', `/admin/devices/${device.body.id}`, sys.tokens.admin)).status).toBe(404);
    const audit = (await sys.get('/admin/audit?limit=50')).body as { action: string; target: string }[];
    expect(audit.filter((a) => a.target === device.body.id).map((a) => a.action)).toEqual([
      'device.revoked',
      'device.issued',
    ]);
  });

  it('locks an account after repeated wrong passwords, with an audit entry, and refuses even the right password', async () => {
    const email = `lock-${Date.now()}@example.com`;
    const created = await sys.post('/admin/users', {
      email,
      displayName: 'Lock Me',
      password: TEST_PASSWORD,
      role: 'operator',
      warehouses: ['WH1'],
    });
    expect(created.status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const wrong = await sys.login(email, 'not-the-password');
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('AUTH.INVALID_CREDENTIALS');
    }
    const locked = await sys.login(email);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('AUTH.LOCKED');
    const audit = (await sys.get('/admin/audit?limit=50')).body as { action: string; target: string }[];
    expect(audit.some((a) => a.action === 'user.locked' && a.target === created.body.id)).toBe(true);
    // An admin lifts the lock at once (audited); another tenant's admin cannot.
    const other = await sys.newTenant();
    expect((await call('POST', `/admin/users/${created.body.id}/unlock`, other.tokens.admin)).status).toBe(404);
    expect((await sys.login(email)).status).toBe(429);
    expect((await sys.post(`/admin/users/${created.body.id}/unlock`, {})).body).toEqual({
      id: created.body.id,
      unlocked: true,
    });
    expect((await sys.login(email)).status).toBe(200);
    expect(((await sys.get('/admin/audit?limit=5')).body as { action: string }[])[0].action).toBe('user.unlocked');
  });

  it('audits role changes, and nobody can edit the audit log', async () => {
    const email = `promote-${Date.now()}@example.com`;
    const user = (
      await sys.post('/admin/users', {
        email,
        displayName: 'P',
        password: TEST_PASSWORD,
        role: 'operator',
        warehouses: ['WH1'],
      })
    ).body;
    const changed = await call('PATCH', `/admin/users/${user.id}`, sys.tokens.admin, {
      role: 'supervisor',
      warehouses: ['WH1', 'WH2'],
    });
    expect(changed.status).toBe(200);
    const [entry] = (
      (await sys.get('/admin/audit?limit=10')).body as { action: string; target: string; details: any }[]
    ).filter((a) => a.target === user.id);
    expect(entry).toMatchObject({
      action: 'user.role_changed',
      details: { before: { role: 'operator' }, after: { role: 'supervisor', warehouses: ['WH1', 'WH2'] } },
    });
    await expect(
      sys.db.query(`UPDATE audit_log SET action = 'nothing' WHERE tenant_id = $1`, [sys.tenant]),
    ).rejects.toThrow(/append-only/);
    await expect(sys.db.query(`DELETE FROM audit_log WHERE tenant_id = $1`, [sys.tenant])).rejects.toThrow(
      /append-only/,
    );
  });

  it('refuses people, devices and API keys named for a warehouse the tenant does not have, and writes nothing', async () => {
    const suffix = Date.now().toString(36).toUpperCase();
    const missing = `WH9-${suffix}`;
    // Another tenant's warehouse is not one of this tenant's.
    const theirs = `WX-${suffix}`;
    const other = await sys.newTenant();
    expect((await call('POST', '/warehouses', other.tokens.admin, { code: theirs, name: 'Theirs' })).status).toBe(201);
    const written = async () =>
      (
        await sys.db.query(
          `SELECT (SELECT count(*) FROM users WHERE tenant_id = $1) + (SELECT count(*) FROM device_tokens WHERE tenant_id = $1)
                + (SELECT count(*) FROM api_keys WHERE tenant_id = $1) + (SELECT count(*) FROM audit_log WHERE tenant_id = $1) AS n`,
          [sys.tenant],
        )
      ).rows[0].n as string;
    const before = await written();
    const warehouses = ['WH1', theirs, 'WH2', missing];
    const email = `nowhere-${Date.now()}@example.com`;
    const person = { email, displayName: 'N', password: TEST_PASSWORD, role: 'operator' };
    for (const [path, body] of [
      ['/admin/users', { ...person, warehouses }],
      ['/admin/devices', { name: 'nowhere', warehouses }],
      ['/admin/api-keys', { name: 'nowhere', warehouses }],
    ] as const) {
      const res = await sys.post(path, body);
      expect(res.status, path).toBe(404);
      expect(res.body).toMatchObject({
        code: 'WAREHOUSE.UNKNOWN',
        errors: [
          { field: 'warehouses[1]', reason: `no warehouse ${theirs} in this tenant` },
          { field: 'warehouses[3]', reason: `no warehouse ${missing} in this tenant` },
        ],
      });
    }
    expect(await written()).toBe(before);
    expect((await sys.login(email)).status).toBe(401);

    const user = (await sys.post('/admin/users', { ...person, warehouses: ['WH1'] })).body;
    const changed = await call('PATCH', `/admin/users/${user.id}`, sys.tokens.admin, {
      role: 'supervisor',
      warehouses: ['WH2', missing],
    });
    expect(changed.status).toBe(404);
    expect(changed.body.errors).toEqual([{ field: 'warehouses[1]', reason: `no warehouse ${missing} in this tenant` }]);
    const unchanged = ((await sys.get('/admin/users')).body as { id: string }[]).find((u) => u.id === user.id);
    expect(unchanged).toMatchObject({ role: 'operator', warehouses: ['WH1'] });

    // Once the tenant has it, it may be assigned.
    expect((await sys.post('/warehouses', { code: missing, name: 'Now here' })).status).toBe(201);
    expect(
      (await call('PATCH', `/admin/users/${user.id}`, sys.tokens.admin, { warehouses: ['WH2', missing] })).body,
    ).toMatchObject({ warehouses: ['WH2', missing] });
    expect((await sys.post('/admin/devices', { name: 'here', warehouses: [missing] })).status).toBe(201);
  });

  it('seeds the demo tenant with warehouse WH1, its operator and supervisor assigned to it (again: unchanged)', async () => {
    const seed = () =>
      spawnSync(process.execPath, [path.join(testEnv.root, 'dist/apps/api/src/auth/demo-seed.js')], {
        env: { ...process.env, DATABASE_URL: testEnv.databaseUrl, DEMO_PASSWORD: TEST_PASSWORD },
        encoding: 'utf8',
      });
    for (const run of [seed(), seed()]) expect(run.status, run.stderr).toBe(0);
    const { rows } = await sys.db.query(`SELECT code FROM warehouses WHERE tenant_id = 'demo'`);
    expect(rows).toEqual([{ code: 'WH1' }]);
    for (const role of ['operator', 'supervisor']) {
      const session = await sys.login(`${role}@demo.local`);
      expect(session.body.user, role).toMatchObject({ role, warehouses: ['WH1'] });
    }
    // WH1 is a warehouse of the tenant: its admin can issue a scanner for it, and publish for it.
    const admin = (await sys.login('admin@demo.local')).body.accessToken;
    expect((await call('POST', '/admin/devices', admin, { name: 'demo scanner', warehouses: ['WH1'] })).status).toBe(
      201,
    );
    expect((await call('POST', '/events', admin, tracking())).status).toBe(202);
  });

  it('keeps tenants apart in admin actions', async () => {
    const other = await sys.newTenant();
    const theirs = (await call('GET', '/admin/users', other.tokens.admin)).body as { email: string }[];
    expect(theirs.every((u) => u.email.endsWith(`@${other.tenant}.local`))).toBe(true);
    const mine = ((await sys.get('/admin/users')).body as { id: string }[])[0];
    expect((await call('PATCH', `/admin/users/${mine.id}`, other.tokens.admin, { disabled: true })).status).toBe(404);
  });

  it('refuses a socket without a valid token, and subscriptions to warehouses that are not the caller’s', async () => {
    const anonymous = io(sys.url, { transports: ['websocket'], reconnection: false });
    const error = await new Promise<Error>((resolve) => anonymous.on('connect_error', resolve));
    expect(error.message).toContain('AUTH.INVALID_TOKEN');
    anonymous.close();
    const supervisor = io(sys.url, { transports: ['websocket'], auth: { token: sys.tokens.supervisor } });
    const refused = await supervisor.timeout(5000).emitWithAck('subscribe', { warehouseId: 'WH9' });
    expect(refused).toMatchObject({ ok: false, code: 'AUTH.FORBIDDEN_WAREHOUSE' });
    expect(await supervisor.timeout(5000).emitWithAck('subscribe', { warehouseId: 'WH1' })).toMatchObject({ ok: true });
    supervisor.close();
  });

  it('disconnects a live socket when its device token is revoked', async () => {
    const device = await sys.post('/admin/devices', { name: 'scanner 3', warehouses: ['WH1'] });
    const socket = io(sys.url, { transports: ['websocket'], auth: { token: device.body.token }, reconnection: false });
    expect(await socket.timeout(5000).emitWithAck('subscribe', { warehouseId: 'WH1' })).toMatchObject({ ok: true });
    const disconnected = new Promise<string>((resolve) => socket.on('disconnect', resolve));
    expect((await call('DELETE', `/admin/devices/${device.body.id}`, sys.tokens.admin)).status).toBe(200);
    expect(await disconnected).toBe('io server disconnect');
    socket.close();
  });

  it('sends security headers', async () => {
    const res = await call('GET', '/health/live');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});

describe('rate limits', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ worker: false, env: { LOGIN_RATE_PER_MINUTE: '8', RATE_LIMIT_PER_MINUTE: '30' } });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('answers 429 to an address that keeps trying to sign in', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await sys.login('nobody@example.com', 'guess')).status);
    expect(statuses).toContain(429);
    expect(statuses.slice(statuses.indexOf(429)).every((s) => s === 429)).toBe(true);
  });

  it('answers 429 to a caller that publishes faster than its limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++)
      statuses.push((await sys.post('/events', tracking({ orderNumber: `SO-RL${i}` }))).status);
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(30);
    expect(statuses.at(-1)).toBe(429);
  });
});
