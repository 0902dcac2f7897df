import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { startPushService } from './support/providers.js';
import { startSystem, TEST_PASSWORD, type TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';
import { type DemoWarehouse, lowStock, newWarehouse } from './support/warehouse-factory.js';

const as = (sys: TestSystem, token: string) => ({
  get: (path: string) => sys.get(path, { authorization: `Bearer ${token}` }),
  post: (path: string, body: unknown) => sys.post(path, body, { authorization: `Bearer ${token}` }),
  put: (path: string, body: unknown) =>
    fetch(`${sys.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }).then(async (r) => ({
      status: r.status,
      body: await r.json(),
    })),
});

/** A browser's push keys: a P-256 public key and a 16-byte secret. */
const browserKeys = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
};

const deliveriesOf = async (sys: TestSystem, userId: string, sku: string) =>
  (
    await sys.db.query(
      `SELECT d.channel, d.status, d.reason,
              array(SELECT outcome FROM delivery_attempts a WHERE a.delivery_id = d.id ORDER BY a.id) AS attempts
       FROM notification_deliveries d
       JOIN notifications n ON n.id = d.notification_id
       WHERE d.user_id = $1 AND n.title = $2
       ORDER BY d.channel`,
      [userId, `Low stock ${sku}`],
    )
  ).rows as { channel: string | null; status: string; reason: string | null; attempts: string[] }[];

const newSupervisor = async (sys: TestSystem, name: string) => {
  const res = await as(sys, sys.tokens.admin).post('/admin/users', {
    email: `${name}-${randomBytes(3).toString('hex')}@example.com`,
    displayName: name,
    password: TEST_PASSWORD,
    role: 'supervisor',
    warehouses: ['WH2'],
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; email: string };
};

describe('push subscriptions', () => {
  let sys: TestSystem;
  let push: Awaited<ReturnType<typeof startPushService>>;
  beforeAll(async () => {
    push = await startPushService();
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.close();
    await push?.close();
  });

  it('never moves an endpoint to another person: other tenants and colleagues get 409, the owner updates its keys', async () => {
    const owner = as(sys, sys.tokens.supervisor);
    const ownerId = (await owner.get('/auth/me')).body.id;
    const subscription = push.subscription(`owned-${randomBytes(4).toString('hex')}`);
    const first = await owner.post('/me/push-subscriptions', subscription);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const row = async () =>
      (
        await sys.db.query(`SELECT id, tenant_id, user_id, p256dh, auth FROM push_subscriptions WHERE endpoint = $1`, [
          subscription.endpoint,
        ])
      ).rows;
    const before = await row();
    expect(before).toEqual([
      {
        id: first.body.id,
        tenant_id: sys.tenant,
        user_id: ownerId,
        p256dh: subscription.keys.p256dh,
        auth: subscription.keys.auth,
      },
    ]);

    const other = await sys.newTenant();
    for (const token of [other.tokens.operator, other.tokens.admin, sys.tokens.operator]) {
      const taken = await as(sys, token).post('/me/push-subscriptions', {
        endpoint: subscription.endpoint,
        keys: browserKeys(),
      });
      expect(taken.status).toBe(409);
      expect(taken.body).toMatchObject({ code: 'PUSH.ENDPOINT_TAKEN', errors: [{ field: 'endpoint' }] });
    }
    expect(await row()).toEqual(before);

    const keys = browserKeys();
    const again = await owner.post('/me/push-subscriptions', { endpoint: subscription.endpoint, keys });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(await row()).toEqual([{ ...before[0], p256dh: keys.p256dh, auth: keys.auth }]);
  });
});

describe('outbound URL policy (OUTBOUND_ALLOW_PRIVATE_NETWORKS=false)', () => {
  let sys: TestSystem;
  let push: Awaited<ReturnType<typeof startPushService>>;
  let w: DemoWarehouse;
  beforeAll(async () => {
    push = await startPushService();
    const vapid = webpush.generateVAPIDKeys();
    sys = await startSystem({
      env: {
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'false',
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        PUSH_TLS_CA_FILE: push.caFile,
        DELIVERY_ATTEMPTS: '3',
        DELIVERY_BACKOFF_MS: '100',
      },
    });
    w = await newWarehouse(sys, 2, 'WH2');
  });
  afterAll(async () => {
    await sys?.close();
    await push?.close();
  });

  it('refuses push endpoints on private, loopback and link-local addresses, and plain http, at registration', async () => {
    const me = as(sys, sys.tokens.operator);
    const local = push.subscription('refused');
    const refused: [string, RegExp][] = [
      ['https://127.0.0.1/push/x', /127\.0\.0\.1 is a loopback address/],
      ['https://10.1.2.3/push/x', /10\.1\.2\.3 is a private address/],
      ['https://192.168.1.20:8443/push/x', /private address/],
      ['https://169.254.169.254/latest/meta-data', /link-local address/],
      ['https://[::1]/push/x', /::1 is a loopback address/],
      ['https://[::ffff:10.0.0.1]/push/x', /private address/],
      ['https://[fd12:3456::1]/push/x', /private address/],
      ['https://0.0.0.0/push/x', /unspecified address/],
      ['http://push.example.com/push/x', /must be an https URL/],
      [local.endpoint.replace('127.0.0.1', 'localhost'), /localhost resolves to 127\.0\.0\.1, a loopback address/],
    ];
    for (const [endpoint, reason] of refused) {
      const res = await me.post('/me/push-subscriptions', { endpoint, keys: local.keys });
      expect(res.status, endpoint).toBe(400);
      expect(res.body.errors, endpoint).toEqual([{ field: 'endpoint', reason: expect.stringMatching(reason) }]);
    }
    const operatorId = (await me.get('/auth/me')).body.id;
    expect(
      (await sys.db.query(`SELECT endpoint FROM push_subscriptions WHERE user_id = $1`, [operatorId])).rows,
    ).toEqual([]);
    // A public address is fine (a literal one, so the test needs no DNS).
    const ok = await me.post('/me/push-subscriptions', { endpoint: 'https://93.184.215.14/push/ok', keys: local.keys });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(
      (
        await fetch(`${sys.url}/me/push-subscriptions/${ok.body.id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${sys.tokens.operator}` },
        })
      ).status,
    ).toBe(204);
  });

  it('refuses to connect when a stored endpoint points to, or its name now resolves to, a loopback address', async () => {
    // Rows as a rebinding name or an older release could have left them: they never pass registration now.
    const rebinding = await newSupervisor(sys, 'rebinding');
    const literal = await newSupervisor(sys, 'literal');
    const targets = [
      {
        user: rebinding,
        sub: push.subscription('rebinding', 'localhost'),
        reason: /refused to connect to localhost: it resolves to 127\.0\.0\.1, a loopback address/,
      },
      {
        user: literal,
        sub: push.subscription('literal'),
        reason: /push endpoint refused: .*127\.0\.0\.1 is a loopback address/,
      },
    ];
    for (const { user, sub } of targets) {
      await sys.db.query(
        `INSERT INTO push_subscriptions (id, tenant_id, user_id, endpoint, p256dh, auth) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)`,
        [sys.tenant, user.id, sub.endpoint, sub.keys.p256dh, sub.keys.auth],
      );
    }
    const sku = w.sku(1);
    await lowStock(sys, w, sku);
    for (const { user } of targets) {
      await waitFor(`${user.email}'s push delivery to finish`, async () =>
        ['failed', 'sent'].includes(
          (await deliveriesOf(sys, user.id, sku)).find((d) => d.channel === 'push')?.status ?? '',
        ),
      );
    }
    expect(
      push.received.filter((r) => r.path === '/push/rebinding' || r.path === '/push/literal').map((r) => r.path),
    ).toEqual([]);
    for (const { user, reason } of targets) {
      const deliveries = await deliveriesOf(sys, user.id, sku);
      expect(deliveries.find((d) => d.channel === 'push')).toEqual({
        channel: 'push',
        status: 'failed',
        reason: expect.stringMatching(reason),
        attempts: ['permanent_failure'],
      });
      expect(deliveries.find((d) => d.channel === 'in_app')?.status).toMatch(/queued|sent/);
    }
  });
});

describe('notification preferences are strict', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('refuses a muted map that is not known categories to lists of known channels, naming the field', async () => {
    const me = as(sys, sys.tokens.supervisor);
    expect((await me.put('/me/notification-preferences', { muted: { stock: ['sms'] } })).status).toBe(200);
    const cases: [unknown, string, RegExp][] = [
      [{ stock: 5 }, 'muted.stock', /list of channels/],
      [{ stock: 'sms' }, 'muted.stock', /list of channels/],
      [{ stock: null }, 'muted.stock', /list of channels/],
      [{ stock: ['pigeon'] }, 'muted.stock', /in_app, email, sms, push/],
      [{ pigeons: ['sms'] }, 'muted.pigeons', /should not exist/],
      [['sms'], 'muted', /object of categories/],
      [null, 'muted', /object of categories/],
      ['stock', 'muted', /object of categories/],
    ];
    for (const [muted, field, reason] of cases) {
      const res = await me.put('/me/notification-preferences', { muted });
      expect(res.status, JSON.stringify(muted)).toBe(400);
      expect(res.body.errors, JSON.stringify(muted)).toContainEqual({ field, reason: expect.stringMatching(reason) });
    }
    expect((await me.get('/me/notification-preferences')).body.muted).toEqual({ stock: ['sms'] });
  });
});

describe('one recipient’s bad data never stops everyone else’s alert', () => {
  let sys: TestSystem;
  let w: DemoWarehouse;
  beforeAll(async () => {
    // Few, fast listener retries: without isolation the routing would dead-letter quickly instead of notifying.
    sys = await startSystem({ env: { LISTENER_ATTEMPTS: '2', LISTENER_BACKOFF_MS: '100' } });
    w = await newWarehouse(sys, 2, 'WH2');
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('records the broken recipient as unroutable, tells the admins, and notifies every other supervisor', async () => {
    const supervisorId = (await as(sys, sys.tokens.supervisor).get('/auth/me')).body.id;
    const poisoned = await newSupervisor(sys, 'poisoned');
    const garbled = await newSupervisor(sys, 'garbled');
    // Rows the API refuses today but a database can still hold (an older release, a hand edit).
    await sys.db.query(`UPDATE users SET time_zone = 'Mars/Olympus_Mons' WHERE id = $1`, [poisoned.id]);
    await sys.db.query(
      `INSERT INTO notification_preferences (user_id, quiet_start, quiet_end) VALUES ($1, '00:00', '23:59')`,
      [poisoned.id],
    );
    await sys.db.query(
      `INSERT INTO notification_preferences (user_id, muted) VALUES ($1, '{"stock": 5, "system": "sms"}')`,
      [garbled.id],
    );

    const sku = w.sku(1);
    await lowStock(sys, w, sku);
    for (const id of [supervisorId, garbled.id]) {
      await waitFor(`the alert of ${id}, every channel handled`, async () => {
        const deliveries = await deliveriesOf(sys, id, sku);
        return (
          deliveries.some((d) => d.channel === 'in_app' && d.status === 'sent') &&
          !deliveries.some((d) => d.status === 'queued')
        );
      });
    }
    // A malformed mute mutes nothing: that supervisor is alerted on every channel they can get.
    expect((await deliveriesOf(sys, garbled.id, sku)).map((d) => [d.channel, d.status])).toEqual([
      ['email', 'skipped'],
      ['in_app', 'sent'],
    ]);
    const inbox = await as(sys, sys.tokens.supervisor).get('/me/notifications');
    expect(inbox.body.items.map((n: { title: string }) => n.title)).toContain(`Low stock ${sku}`);

    expect(await deliveriesOf(sys, poisoned.id, sku)).toEqual([
      {
        channel: null,
        status: 'unroutable',
        reason: expect.stringMatching(/could not route to this recipient: .*Mars\/Olympus_Mons/),
        attempts: [],
      },
    ]);
    const admin = as(sys, sys.tokens.admin);
    const notice = await waitFor('the admins’ notice', async () =>
      (await admin.get('/me/notifications')).body.items.find(
        (n: { title: string }) => n.title === `An alert could not reach ${poisoned.email}`,
      ),
    );
    expect(notice).toMatchObject({ category: 'system', severity: 'warning' });
    expect(notice.body).toContain(`Low stock ${sku}`);
    const event = await sys.db.query(
      `SELECT id FROM event_store WHERE tenant_id = $1 AND name = 'inventory.low_stock' AND payload->>'sku' = $2`,
      [sys.tenant, sku],
    );
    expect(
      (await sys.db.query(`SELECT count(*)::int AS n FROM dead_letters WHERE event_id = $1`, [event.rows[0].id]))
        .rows[0].n,
    ).toBe(0);

    // The next alert reaches the others again; the admins are not told twice about the same person within the window.
    const next = w.sku(2);
    await lowStock(sys, w, next);
    await waitFor(
      'the next alert',
      async () => (await deliveriesOf(sys, supervisorId, next)).find((d) => d.channel === 'in_app')?.status === 'sent',
    );
    expect((await deliveriesOf(sys, poisoned.id, next)).map((d) => d.status)).toEqual(['unroutable']);
    const notices = await sys.db.query(
      `SELECT count(*)::int AS n FROM notifications WHERE tenant_id = $1 AND kind = 'notification_unroutable'`,
      [sys.tenant],
    );
    expect(notices.rows[0].n).toBe(1);
  });
});
