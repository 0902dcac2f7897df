import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from './support/api-process.js';
import { testEnv } from './support/env.js';
import { acceptedEvents, startSystem, TEST_PASSWORD, type TestSystem, tracking } from './support/system.js';
import { startPostgresProxy } from './support/tcp-proxy.js';
import { EVENTS_MESSAGE, SOCKET_EMITTER, type SocketEmitter, warehouseRoom } from '@wms/events';
import { waitFor } from './support/wait-for.js';
import { newWarehouse, stockUp } from './support/warehouse-factory.js';

/** How fast an access change must reach every api instance. */
const AT_ONCE_MS = 1000;

describe('access changes take effect at once, on every api instance', () => {
  let sys: TestSystem;
  let b: ApiProcess;
  let n = 0;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // Caches and socket re-checks that would hold a stale answer for a minute: only the change notice can explain a refusal within 1 s.
    sys = await startSystem({ env: { AUTH_CACHE_MS: '60000', SOCKET_REAUTH_MS: '600000' } });
    b = await startApiProcess(sys.env);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await b?.stop();
    await sys?.close();
  });

  const call = (base: string, method: string, route: string, token: string, body?: unknown) =>
    fetch(`${base}${route}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined) }));

  /** A new person in the test tenant, signed in; returns their id and access token. */
  async function person(role: 'operator' | 'supervisor' | 'admin', warehouses = ['WH1', 'WH2']) {
    const email = `access-${++n}-${Date.now()}@example.com`;
    const created = await sys.post('/admin/users', {
      email,
      displayName: `P${n}`,
      password: TEST_PASSWORD,
      role,
      warehouses,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const session = await sys.login(email);
    expect(session.status).toBe(200);
    return { id: created.body.id as string, email, token: session.body.accessToken as string };
  }

  async function socketOn(base: string, token: string, warehouseId: string) {
    const socket = io(base, { transports: ['websocket'], auth: { token }, reconnection: false });
    sockets.push(socket);
    const received: { payload: { orderNumber?: string } }[] = [];
    socket.on(EVENTS_MESSAGE, (batch: { payload: { orderNumber?: string } }[]) => received.push(...batch));
    expect(await socket.timeout(5000).emitWithAck('subscribe', { warehouseId })).toMatchObject({ ok: true });
    return {
      socket,
      received,
      closed: new Promise<number>((resolve) => socket.on('disconnect', () => resolve(Date.now()))),
    };
  }

  /** Waits at most AT_ONCE_MS after `since` for `check`; fails otherwise. */
  const atOnce = (what: string, since: number, check: () => Promise<boolean>) =>
    waitFor(what, check, Math.max(0, since + AT_ONCE_MS - Date.now()), 10);

  it(
    'refuses a disabled person’s existing token and closes their socket within 1 s on both instances, ' +
      'even after re-enabling',
    async () => {
      const p = await person('supervisor');
      for (const base of [sys.url, b.url]) expect((await call(base, 'GET', '/auth/me', p.token)).status).toBe(200);
      const live = await socketOn(b.url, p.token, 'WH1');
      const t0 = Date.now();
      const disabled = await call(sys.url, 'PATCH', `/admin/users/${p.id}`, sys.tokens.admin, { disabled: true });
      expect(disabled.status).toBe(200);
      await atOnce(
        'instance B to refuse the token',
        t0,
        async () => (await call(b.url, 'GET', '/auth/me', p.token)).status === 401,
      );
      await atOnce(
        'instance A to refuse the token',
        t0,
        async () => (await call(sys.url, 'GET', '/auth/me', p.token)).status === 401,
      );
      expect(
        await Promise.race([
          live.closed,
          new Promise<number>((r) => setTimeout(() => r(Infinity), t0 + AT_ONCE_MS - Date.now())),
        ]),
      ).toBeLessThan(t0 + AT_ONCE_MS);
      expect((await call(sys.url, 'PATCH', `/admin/users/${p.id}`, sys.tokens.admin, { disabled: false })).status).toBe(
        200,
      );
      // Tokens issued before the person was disabled stay dead; a new sign-in works.
      await waitFor('the re-enabled person to sign in', async () => (await sys.login(p.email)).status === 200);
      expect((await call(b.url, 'GET', '/auth/me', p.token)).status).toBe(401);
    },
  );

  it('applies a demotion to the open token within 1 s: a demoted admin cannot create an admin', async () => {
    const admin = await person('admin');
    expect((await call(b.url, 'GET', '/admin/users', admin.token)).status).toBe(200);
    const t0 = Date.now();
    expect(
      (
        await call(sys.url, 'PATCH', `/admin/users/${admin.id}`, sys.tokens.admin, {
          role: 'operator',
          warehouses: ['WH1'],
        })
      ).status,
    ).toBe(200);
    await atOnce(
      'the demoted admin to be refused on B',
      t0,
      async () => (await call(b.url, 'GET', '/admin/users', admin.token)).status === 403,
    );
    const attempt = await call(b.url, 'POST', '/admin/users', admin.token, {
      email: `sneaky-${Date.now()}@example.com`,
      displayName: 'S',
      password: TEST_PASSWORD,
      role: 'admin',
      warehouses: [],
    });
    expect(attempt.status).toBe(403);
    expect((await call(b.url, 'GET', '/auth/me', admin.token)).body).toMatchObject({
      role: 'operator',
      warehouses: ['WH1'],
    });
  });

  it('takes a removed warehouse away from the open token and the open socket within 1 s', async () => {
    const p = await person('supervisor', ['WH1', 'WH2']);
    expect((await call(b.url, 'GET', '/warehouses/WH2/stock', p.token)).status).toBe(200);
    const wh2 = await socketOn(b.url, p.token, 'WH2');
    const wh1 = await socketOn(b.url, p.token, 'WH1');
    const t0 = Date.now();
    expect(
      (await call(sys.url, 'PATCH', `/admin/users/${p.id}`, sys.tokens.admin, { warehouses: ['WH1'] })).status,
    ).toBe(200);
    await atOnce(
      'WH2 to be refused on B',
      t0,
      async () => (await call(b.url, 'GET', '/warehouses/WH2/stock', p.token)).status === 403,
    );
    const tag = `SO-ROOM-${Date.now()}`;
    expect((await sys.post('/events', tracking({ warehouseId: 'WH2', orderNumber: `${tag}-2` }))).status).toBe(202);
    await waitFor(
      'the WH2 event to be stored',
      async () =>
        (
          await sys.db.query(`SELECT 1 FROM event_store WHERE tenant_id = $1 AND payload->>'orderNumber' = $2`, [
            sys.tenant,
            `${tag}-2`,
          ])
        ).rowCount === 1,
    );
    expect((await sys.post('/events', tracking({ warehouseId: 'WH1', orderNumber: `${tag}-1` }))).status).toBe(202);
    await waitFor('the WH1 event on the socket', () => wh1.received.some((e) => e.payload.orderNumber === `${tag}-1`));
    expect([...wh1.received, ...wh2.received].filter((e) => e.payload.orderNumber === `${tag}-2`)).toEqual([]);
  });

  it('refuses a revoked device and a revoked API key within 1 s on both instances, and closes the device’s socket', async () => {
    const device = (await sys.post('/admin/devices', { name: 'scanner R', warehouses: ['WH1'] })).body;
    const key = (await sys.post('/admin/api-keys', { name: 'erp R', warehouses: [] })).body;
    expect((await call(b.url, 'GET', '/warehouses/WH1/stock', device.token)).status).toBe(200);
    expect(
      (await call(b.url, 'POST', '/events', key.token, tracking({ orderNumber: `SO-KEY-${Date.now()}` }))).status,
    ).toBe(202);
    const live = await socketOn(b.url, device.token, 'WH1');
    const t0 = Date.now();
    expect((await call(sys.url, 'DELETE', `/admin/devices/${device.id}`, sys.tokens.admin)).status).toBe(200);
    expect((await call(sys.url, 'DELETE', `/admin/api-keys/${key.id}`, sys.tokens.admin)).status).toBe(200);
    await atOnce(
      'the device to be refused on B',
      t0,
      async () => (await call(b.url, 'GET', '/warehouses/WH1/stock', device.token)).status === 401,
    );
    await atOnce(
      'the key to be refused on B',
      t0,
      async () =>
        (await call(b.url, 'POST', '/events', key.token, tracking({ orderNumber: `SO-KEY-${Date.now()}` }))).status ===
        401,
    );
    expect(
      await Promise.race([
        live.closed,
        new Promise<number>((r) => setTimeout(() => r(Infinity), t0 + AT_ONCE_MS - Date.now())),
      ]),
    ).toBeLessThan(t0 + AT_ONCE_MS);
  });
  it('keeps serving, and keeps its promise, when someone sends a malformed access notice', async () => {
    // Any database session may NOTIFY; a notice that is not ours must neither crash an instance nor be trusted.
    for (const payload of ['not json', 'null', '{"kind":"user"}', '{"kind":"root","id":"x"}'])
      await sys.db.query(`SELECT pg_notify('wms_access_changed', $1)`, [payload]);
    const p = await person('supervisor');
    expect((await call(b.url, 'GET', '/auth/me', p.token)).status).toBe(200);
    expect(b.process.exitCode).toBeNull();
    const t0 = Date.now();
    expect((await call(sys.url, 'PATCH', `/admin/users/${p.id}`, sys.tokens.admin, { disabled: true })).status).toBe(
      200,
    );
    await atOnce(
      'instance B to refuse the token',
      t0,
      async () => (await call(b.url, 'GET', '/auth/me', p.token)).status === 401,
    );
  });

  it('notices when its change listener goes silent without a word, and stops trusting its cache', async () => {
    const db = new URL(testEnv.databaseUrl);
    const proxy = await startPostgresProxy(Number(db.port || 5432), db.hostname);
    db.hostname = '127.0.0.1';
    db.port = String(proxy.port);
    const c = await startApiProcess({ ...sys.env, DATABASE_URL: db.toString() });
    try {
      const admin = await person('admin');
      expect((await call(c.url, 'GET', '/admin/users', admin.token)).status).toBe(200);
      // A NAT forgets the listener's idle flow: no FIN, no RST, nothing more arrives on it.
      proxy.silence('wms-access-changes');
      const t0 = Date.now();
      expect(
        (await call(sys.url, 'PATCH', `/admin/users/${admin.id}`, sys.tokens.admin, { role: 'operator' })).status,
      ).toBe(200);
      // The heartbeat notices within a second; a margin for a busy machine, far below the 60 s cache.
      await waitFor(
        'the silenced instance to refuse the demoted admin',
        async () => (await call(c.url, 'GET', '/admin/users', admin.token)).status === 403,
        Math.max(0, t0 + 2500 - Date.now()),
        20,
      );
    } finally {
      await c.stop();
      await proxy.close();
    }
  });
});

describe('tenants are provisioned and suspended by the operating tenant', () => {
  let sys: TestSystem;
  let b: ApiProcess;
  beforeAll(async () => {
    sys = await startSystem({ env: { AUTH_CACHE_MS: '60000' } });
    b = await startApiProcess(sys.env);
  });
  afterAll(async () => {
    await b?.stop();
    await sys?.close();
  });

  const call = (method: string, route: string, token: string | undefined, body?: unknown, base = sys.url) =>
    fetch(`${base}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined) }));

  const eventsOf = (tenant: string) => acceptedEvents(sys.db, tenant);

  it(
    'creates a tenant whose first admin sets a password once, works, is cut off entirely by a suspension ' +
      'and let back in by a resume',
    async () => {
      const id = `acme-${Date.now().toString(36)}`;
      const adminEmail = `it@${id}.example`;
      const created = await call('POST', '/admin/tenants', sys.tokens.admin, {
        id,
        name: 'ACME',
        adminEmail,
        adminName: 'ACME admin',
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({
        tenant: { id, name: 'ACME', suspendedAt: null },
        admin: { email: adminEmail },
      });

      // No password until the admin sets one; a lost code can be replaced (the old one dies); a code works once.
      expect((await sys.login(adminEmail, 'anything-at-all')).status).toBe(401);
      const reissued = await call('POST', `/admin/tenants/${id}/admin-code`, sys.tokens.admin, { email: adminEmail });
      expect(reissued.status).toBe(201);
      expect(
        (
          await call('POST', '/auth/set-password', undefined, {
            code: created.body.setPasswordCode,
            password: 'acme-first-password-1',
          })
        ).status,
      ).toBe(401);
      const code = reissued.body.setPasswordCode as string;
      expect(reissued.body.setPasswordLink).toBe(`/ui/#set-password=${code}`);
      expect((await call('POST', '/auth/set-password', undefined, { code, password: 'short' })).status).toBe(400);
      const first = await call('POST', '/auth/set-password', undefined, { code, password: 'acme-first-password-1' });
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.user).toMatchObject({ email: adminEmail, role: 'admin' });
      expect(
        (await call('POST', '/auth/set-password', undefined, { code, password: 'acme-second-password' })).body.code,
      ).toBe('AUTH.INVALID_SET_PASSWORD_CODE');
      const admin = (await sys.login(adminEmail, 'acme-first-password-1')).body.accessToken as string;
      // Once the admin has a password, nobody can take the account over with a new code.
      expect(
        (await call('POST', `/admin/tenants/${id}/admin-code`, sys.tokens.admin, { email: adminEmail })).body.code,
      ).toBe('TENANT.NO_PENDING_ADMIN');

      // The new tenant works on its own: warehouses, people, devices, keys, events.
      expect((await call('POST', '/warehouses', admin, { code: 'WH1', name: 'Acme 1' })).status).toBe(201);
      const device = (await call('POST', '/admin/devices', admin, { name: 'acme scanner', warehouses: ['WH1'] })).body
        .token as string;
      const key = (await call('POST', '/admin/api-keys', admin, { name: 'acme erp', warehouses: [] })).body
        .token as string;
      expect((await call('POST', '/events', key, tracking({ orderNumber: 'SO-ACME-1' }))).status).toBe(202);
      expect((await call('GET', '/warehouses/WH1/stock', device, undefined, b.url)).status).toBe(200);
      const stored = await eventsOf(id);
      expect(stored).toBe(2); // warehouse.created, carrier.tracking_updated

      const t0 = Date.now();
      const suspended = await call('POST', `/admin/tenants/${id}/suspend`, sys.tokens.admin, {
        reason: 'contract ended',
      });
      expect(suspended.status).toBe(200);
      expect(suspended.body).toMatchObject({ id, suspendedReason: 'contract ended' });
      await waitFor(
        'every credential of the tenant to be refused on both instances',
        async () => {
          const statuses = await Promise.all([
            call('GET', '/auth/me', admin),
            call('GET', '/auth/me', admin, undefined, b.url),
            call('GET', '/warehouses/WH1/stock', device, undefined, b.url),
            call('POST', '/events', key, tracking({ orderNumber: 'SO-ACME-2' }), b.url),
          ]);
          return statuses.every((r) => r.status === 401);
        },
        Math.max(0, t0 + 1000 - Date.now()),
        10,
      );
      const refused = await sys.login(adminEmail, 'acme-first-password-1');
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('AUTH.TENANT_SUSPENDED');
      expect(await eventsOf(id)).toBe(stored);

      expect((await call('POST', `/admin/tenants/${id}/resume`, sys.tokens.admin)).status).toBe(200);
      await waitFor(
        'the key to work again',
        async () => (await call('POST', '/events', key, tracking({ orderNumber: 'SO-ACME-3' }), b.url)).status === 202,
        5000,
      );
      expect((await sys.login(adminEmail, 'acme-first-password-1')).status).toBe(200);

      const ops = ((await sys.get('/admin/audit?limit=50')).body as { action: string; target: string }[])
        .filter((a) => a.target === id)
        .map((a) => a.action);
      expect(ops).toEqual(['tenant.resumed', 'tenant.suspended', 'tenant.admin_code_issued', 'tenant.created']);
      const own = ((await call('GET', '/admin/audit?limit=50', admin)).body as { action: string }[]).map(
        (a) => a.action,
      );
      expect(own).toEqual(
        expect.arrayContaining([
          'tenant.created',
          'tenant.admin_code_issued',
          'tenant.suspended',
          'tenant.resumed',
          'user.password_set',
        ]),
      );
    },
  );

  it('lets only the operating tenant’s admins provision, and refuses bad or duplicate tenants', async () => {
    const other = await sys.newTenant();
    const id = `nope-${Date.now().toString(36)}`;
    const refused = await call('POST', '/admin/tenants', other.tokens.admin, {
      id,
      name: 'x',
      adminEmail: `a@${id}.example`,
      adminName: 'a',
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('AUTH.NOT_OPERATOR');
    expect(
      (await call('POST', `/admin/tenants/${sys.tenant}/suspend`, other.tokens.admin, { reason: 'hostile' })).status,
    ).toBe(403);
    expect((await sys.db.query(`SELECT 1 FROM tenants WHERE id = $1`, [id])).rowCount).toBe(0);

    const bad = await call('POST', '/admin/tenants', sys.tokens.admin, {
      id: 'Not Valid',
      name: 'x',
      adminEmail: 'a@b.example',
      adminName: 'a',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('id');
    const taken = await call('POST', '/admin/tenants', sys.tokens.admin, {
      id: other.tenant,
      name: 'x',
      adminEmail: `a@${id}.example`,
      adminName: 'a',
    });
    expect(taken.status).toBe(409);
    const emailTaken = await call('POST', '/admin/tenants', sys.tokens.admin, {
      id,
      name: 'x',
      adminEmail: `admin@${other.tenant}.local`,
      adminName: 'a',
    });
    expect(emailTaken.status).toBe(409);
    expect(emailTaken.body.errors[0].field).toBe('adminEmail');
    // Nothing of the refused tenant was kept.
    expect((await sys.db.query(`SELECT 1 FROM tenants WHERE id = $1`, [id])).rowCount).toBe(0);
    expect(
      (await call('POST', `/admin/tenants/${sys.tenant}/suspend`, sys.tokens.admin, { reason: 'oops' })).body.code,
    ).toBe('TENANT.OPERATING');
  });

  it('provisions and suspends from the command line, audited as the OS user', async () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'), '--json', ...args], {
        env: { ...process.env, ...sys.env, LOG_LEVEL: 'error' },
        encoding: 'utf8',
      });
    const id = `cli-${Date.now().toString(36)}`;
    const created = cli('tenants:create', id, '--name', 'CLI Co', '--admin-email', `boss@${id}.example`);
    expect(created.status, created.stderr).toBe(0);
    const { setPasswordCode } = JSON.parse(created.stdout);
    expect(
      (await call('POST', '/auth/set-password', undefined, { code: setPasswordCode, password: 'cli-first-password-1' }))
        .status,
    ).toBe(200);
    expect(cli('tenants:suspend', id).status).not.toBe(0); // --reason is required
    const suspended = cli('tenants:suspend', id, '--reason', 'unpaid');
    expect(suspended.status, suspended.stderr).toBe(0);
    expect((await sys.login(`boss@${id}.example`, 'cli-first-password-1')).body.code).toBe('AUTH.TENANT_SUSPENDED');
    const list = JSON.parse(cli('tenants:list').stdout) as { id: string; suspendedReason: string }[];
    expect(list.find((t) => t.id === id)).toMatchObject({ suspendedReason: 'unpaid' });
    const audit = (
      (await sys.get('/admin/audit?limit=50')).body as { action: string; target: string; actor: { id: string } }[]
    ).filter((a) => a.target === id);
    expect(audit.map((a) => a.action)).toEqual(['tenant.suspended', 'tenant.created']);
    expect(audit[0].actor.id).toMatch(/^cli:/);
  });

  it('bootstraps the operating tenant itself from the command line on an installation without the demo', async () => {
    const ops = `ops-${Date.now().toString(36)}`;
    const created = spawnSync(
      process.execPath,
      [
        path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'),
        '--json',
        'tenants:create',
        ops,
        '--name',
        'Operations',
        '--admin-email',
        `root@${ops}.example`,
      ],
      {
        env: { ...process.env, ...sys.env, OPS_TENANT: ops, LOG_LEVEL: 'error' },
        encoding: 'utf8',
      },
    );
    expect(created.status, created.stderr).toBe(0);
    const { setPasswordCode } = JSON.parse(created.stdout);
    const session = await call('POST', '/auth/set-password', undefined, {
      code: setPasswordCode,
      password: 'ops-first-password-1',
    });
    expect(session.body.user).toMatchObject({ role: 'admin' });
    const audit = (
      (await call('GET', '/admin/audit?limit=5', session.body.accessToken)).body as { action: string }[]
    ).map((a) => a.action);
    expect(audit).toEqual(['user.password_set', 'tenant.created']);
  });
});

describe('idempotency keys belong to the caller', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.close();
  });

  const send = (token: string, route: string, body: unknown, key: string) =>
    sys.post(route, body, { authorization: `Bearer ${token}`, 'idempotency-key': key });

  it('runs the same key from two scanners twice, and replays one scanner’s resend', async () => {
    const w = await newWarehouse(sys, 1);
    const sku = w.sku(1);
    await stockUp(sys, w, sku, 'A-01', 10);
    const scannerA = (await sys.post('/admin/devices', { name: 'A', warehouses: [w.wh] })).body.token;
    const scannerB = (await sys.post('/admin/devices', { name: 'B', warehouses: [w.wh] })).body.token;
    const scan = { barcode: sku, locationCode: 'A-01', quantityDelta: -1, reasonCode: 'damaged' };
    const route = `/warehouses/${w.wh}/adjustments`;
    const a = await send(scannerA, route, scan, 'scan-0001');
    const bFirst = await send(scannerB, route, scan, 'scan-0001');
    expect([a.status, bFirst.status]).toEqual([201, 201]);
    expect(bFirst.headers.get('idempotent-replayed')).toBeNull();
    const again = await send(scannerA, route, scan, 'scan-0001');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(a.body);
    const stock = (await sys.get(`/warehouses/${w.wh}/stock`)).body as { locationCode: string; onHand: number }[];
    expect(stock.find((s) => s.locationCode === 'A-01')?.onHand).toBe(8);
  });

  it('still answers resends of keys recorded before keys were scoped to their caller', async () => {
    const w = await newWarehouse(sys, 1);
    const sku = w.sku(1);
    await stockUp(sys, w, sku, 'A-01', 10);
    const scanner = (await sys.post('/admin/devices', { name: 'legacy', warehouses: [w.wh] })).body.token;
    const scan = { barcode: sku, locationCode: 'A-01', quantityDelta: -1, reasonCode: 'damaged' };
    const first = await send(scanner, `/warehouses/${w.wh}/adjustments`, scan, 'legacy-scan-1');
    const event = tracking({ orderNumber: `SO-LEGACY-${Date.now()}` });
    const published = await send(sys.tokens.admin, '/events', event, 'legacy-event-1');
    // As the upgrade left them: recorded under the whole tenant.
    await sys.db.query(
      `UPDATE idempotency_keys SET scope = '' WHERE tenant_id = $1 AND key IN ('legacy-scan-1', 'legacy-event-1')`,
      [sys.tenant],
    );
    const again = await send(scanner, `/warehouses/${w.wh}/adjustments`, scan, 'legacy-scan-1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const republished = await send(sys.tokens.admin, '/events', event, 'legacy-event-1');
    expect(republished.headers.get('idempotent-replayed')).toBe('true');
    expect(republished.body.id).toBe(published.body.id);
    const stock = (await sys.get(`/warehouses/${w.wh}/stock`)).body as { locationCode: string; onHand: number }[];
    expect(stock.find((s) => s.locationCode === 'A-01')?.onHand).toBe(9);
  });

  it('keeps an integration’s keys across a rotation of its API key, and apart from another integration', async () => {
    const erp = (await sys.post('/admin/api-keys', { name: 'erp', warehouses: [] })).body;
    const shop = (await sys.post('/admin/api-keys', { name: 'shop', warehouses: [] })).body;
    const event = tracking({ orderNumber: `SO-ROT-${Date.now()}` });
    const first = await send(erp.token, '/events', event, 'erp-msg-1');
    expect(first.status).toBe(202);
    const rotated = await sys.post(`/admin/api-keys/${erp.id}/rotate`, {});
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ name: 'erp', integrationId: erp.integrationId });
    const resent = await send(rotated.body.token, '/events', event, 'erp-msg-1');
    expect(resent.headers.get('idempotent-replayed')).toBe('true');
    expect(resent.body.id).toBe(first.body.id);
    const other = await send(shop.token, '/events', event, 'erp-msg-1');
    expect(other.status).toBe(202);
    expect(other.body.id).not.toBe(first.body.id);
  });
});

describe('sign-in lockout', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem({ worker: false, env: { LOGIN_MAX_FAILURES: '3' } });
  });
  afterAll(async () => {
    await sys?.close();
  });

  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const timed = async (email: string, password: string) => {
    const t = performance.now();
    const res = await sys.login(email, password);
    return { ...res, ms: performance.now() - t };
  };

  it('answers an unknown email exactly like a known one, before and during the lock, in the same time', async () => {
    const known = `known-${Date.now()}@example.com`;
    const unknown = `unknown-${Date.now()}@example.com`;
    expect(
      (
        await sys.post('/admin/users', {
          email: known,
          displayName: 'K',
          password: TEST_PASSWORD,
          role: 'operator',
          warehouses: ['WH1'],
        })
      ).status,
    ).toBe(201);
    const shape = (r: { status: number; body: any }) => ({
      status: r.status,
      code: r.body.code,
      errors: r.body.errors,
    });
    for (let i = 0; i < 3; i++)
      expect(shape(await timed(unknown, 'wrong-password'))).toEqual(shape(await timed(known, 'wrong-password')));
    const lockedKnown = await timed(known, TEST_PASSWORD);
    const lockedUnknown = await timed(unknown, TEST_PASSWORD);
    expect(lockedKnown.status).toBe(429);
    expect(shape(lockedUnknown)).toEqual(shape(lockedKnown));
    // Locked answers cost a password hash too, interleaved so the machine's noise hits both alike.
    const times = { known: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < 5; i++) {
      times.known.push((await timed(known, 'wrong-password')).ms);
      times.unknown.push((await timed(unknown, 'wrong-password')).ms);
    }
    const [k, u] = [median(times.known), median(times.unknown)];
    expect(Math.max(k, u) / Math.min(k, u), JSON.stringify(times)).toBeLessThan(2);
  });
});

describe('installations sharing one Redis', () => {
  let x: TestSystem;
  let y: TestSystem;
  beforeAll(async () => {
    [x, y] = [await startSystem(), await startSystem()];
  });
  afterAll(async () => {
    await y?.close();
    await x?.close();
  });

  it('never deliver one installation’s broadcasts to the other’s sockets', async () => {
    const { received } = await x.socket({ warehouseId: 'WH1' });
    const room = warehouseRoom(x.tenant, 'WH1');
    // The same room name, emitted by the other installation's worker: a tenant id can exist in both.
    y.worker!.get<SocketEmitter>(SOCKET_EMITTER)
      .to(room)
      .emit(EVENTS_MESSAGE, [{ id: 'from-y', payload: {} }]);
    x.worker!.get<SocketEmitter>(SOCKET_EMITTER)
      .to(room)
      .emit(EVENTS_MESSAGE, [{ id: 'from-x', payload: {} }]);
    await waitFor('x’s own broadcast', () => received.some((e) => e.id === 'from-x'));
    // A second round trip: anything y sent before would have arrived by now.
    x.worker!.get<SocketEmitter>(SOCKET_EMITTER)
      .to(room)
      .emit(EVENTS_MESSAGE, [{ id: 'from-x-2', payload: {} }]);
    await waitFor('x’s second broadcast', () => received.some((e) => e.id === 'from-x-2'));
    expect(received.map((e) => e.id)).not.toContain('from-y');
  });
});
