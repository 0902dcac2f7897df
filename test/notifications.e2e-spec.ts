import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { startPushService, startSmtp, startTwilio } from './support/providers.js';
import { startSystem, TEST_PASSWORD, type TestSystem } from './support/system.js';
import { waitFor } from './support/wait-for.js';
import { type DemoWarehouse, lowStock, newWarehouse } from './support/warehouse-factory.js';

type Providers = {
  smtp: Awaited<ReturnType<typeof startSmtp>>;
  twilio: Awaited<ReturnType<typeof startTwilio>>;
  push: Awaited<ReturnType<typeof startPushService>>;
};

async function startWithProviders(extraEnv: Record<string, string> = {}): Promise<{ sys: TestSystem; p: Providers }> {
  const p = { smtp: await startSmtp(), twilio: await startTwilio(), push: await startPushService() };
  const vapid = webpush.generateVAPIDKeys();
  const sys = await startSystem({
    env: {
      SMTP_URL: p.smtp.url,
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'twilio-test-token',
      TWILIO_FROM: '+15005550006',
      TWILIO_API_BASE_URL: p.twilio.url,
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      PUSH_TLS_CA_FILE: p.push.caFile,
      SMS_GROUP_WINDOW_S: '1',
      DELIVERY_ATTEMPTS: '3',
      DELIVERY_BACKOFF_MS: '100',
      ...extraEnv,
    },
  });
  return { sys, p };
}

const as = (sys: TestSystem, token: string) => ({
  get: (path: string) => sys.get(path, { authorization: `Bearer ${token}` }),
  post: (path: string, body: unknown) => sys.post(path, body, { authorization: `Bearer ${token}` }),
  put: (path: string, body: unknown) =>
    fetch(`${sys.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() })),
});

const deliveriesOf = async (sys: TestSystem, userId: string, sku: string) =>
  (
    await sys.db.query(
      `SELECT d.channel, d.status, d.reason,
              array(SELECT outcome FROM delivery_attempts a WHERE a.delivery_id = d.id ORDER BY a.id) AS attempts
       FROM notification_deliveries d
       JOIN notifications n ON n.id = d.notification_id
       WHERE d.user_id = $1 AND n.title LIKE $2
       ORDER BY d.channel`,
      [userId, `%${sku}%`],
    )
  ).rows as { channel: string; status: string; reason: string | null; attempts: string[] }[];

describe('notifications', () => {
  let sys: TestSystem;
  let p: Providers;
  let w: DemoWarehouse;
  let supervisor: { id: string; email: string };
  let live: Socket;
  const liveNotifications: { title: string }[] = [];

  beforeAll(async () => {
    ({ sys, p } = await startWithProviders());
    w = await newWarehouse(sys, 8, 'WH1');
    const me = as(sys, sys.tokens.supervisor);
    supervisor = (await me.get('/auth/me')).body;
    supervisor.email = `supervisor@${sys.tenant}.local`;
    expect((await me.put('/me/notification-preferences', { phone: '+31612345678' })).status).toBe(200);
    const subscribed = await me.post('/me/push-subscriptions', p.push.subscription('supervisor'));
    expect(subscribed.status, JSON.stringify(subscribed.body)).toBe(201);
    live = io(sys.url, { transports: ['websocket'], auth: { token: sys.tokens.supervisor } });
    live.on('notification', (n: { title: string }) => liveNotifications.push(n));
    await new Promise<void>((r) => live.on('connect', () => r()));
  });
  afterAll(async () => {
    live?.close();
    await sys?.close();
    await Promise.all([p?.smtp.close(), p?.twilio.close(), p?.push.close()]);
  });

  it('delivers a low-stock alert to the warehouse supervisor in-app (live and inbox), by email, SMS and push', async () => {
    const sku = w.sku(1);
    await lowStock(sys, w, sku);
    const mail = await waitFor('the email', () => p.smtp.mails.find((m) => m.subject.includes(`Low stock ${sku}`)));
    expect(mail.to).toBe(supervisor.email);
    expect(mail.subject).toBe(`[WARNING] Low stock ${sku}`);
    const sms = await waitFor('the SMS', () => p.twilio.sent.find((s) => s.body.includes(sku)));
    expect(sms).toMatchObject({ to: '+31612345678', from: '+15005550006' });
    expect(sms.body.length).toBeLessThanOrEqual(160);
    const pushed = await waitFor('the push message', () =>
      p.push.received.find((r) => r.payload.title === `Low stock ${sku}`),
    );
    expect(pushed.path).toBe('/push/supervisor');
    expect(pushed.headers.authorization).toMatch(/^vapid t=/);
    await waitFor('the live in-app notification', () => liveNotifications.some((n) => n.title === `Low stock ${sku}`));
    const inbox = await as(sys, sys.tokens.supervisor).get('/me/notifications');
    expect(inbox.body.unread).toBe(1);
    expect(inbox.body.items[0]).toMatchObject({
      title: `Low stock ${sku}`,
      severity: 'warning',
      category: 'stock',
      readAt: null,
    });
    await waitFor('all four deliveries logged as sent', async () =>
      (await deliveriesOf(sys, supervisor.id, sku)).every((d) => d.status === 'sent'),
    );
    expect(await deliveriesOf(sys, supervisor.id, sku)).toEqual(
      ['email', 'in_app', 'push', 'sms'].map((channel) => ({
        channel,
        status: 'sent',
        reason: null,
        attempts: ['sent'],
      })),
    );
    // Operators are not on the default route for stock alerts; admins only for critical ones.
    const others = await sys.db.query(
      `SELECT u.role FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.title = $1 AND n.tenant_id = $2`,
      [`Low stock ${sku}`, sys.tenant],
    );
    expect(others.rows.map((r) => r.role)).toEqual(['supervisor']);
  });

  it('sends the same alert about the same SKU once per window, not again on every crossing', async () => {
    const sku = w.sku(1);
    const mailsBefore = p.smtp.mails.length;
    const smsBefore = p.twilio.sent.length;
    expect(
      (
        await sys.post(`/warehouses/${w.wh}/adjustments`, {
          barcode: sku,
          locationCode: 'A-01',
          quantityDelta: 5,
          reasonCode: 'found',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await sys.post(`/warehouses/${w.wh}/adjustments`, {
          barcode: sku,
          locationCode: 'A-01',
          quantityDelta: -6,
          reasonCode: 'lost',
        })
      ).status,
    ).toBe(201);
    const events = async () =>
      (
        await sys.db.query(
          `SELECT id FROM event_store WHERE tenant_id = $1 AND name = 'inventory.low_stock' AND payload->>'sku' = $2`,
          [sys.tenant, sku],
        )
      ).rows;
    await waitFor('the second low-stock event', async () => (await events()).length === 2);
    const [, second] = await events();
    await waitFor(
      'routing of the second event',
      async () =>
        (await sys.db.query(`SELECT 1 FROM listener_receipts WHERE event_id = $1`, [second.id])).rowCount === 1,
    );
    const rows = await sys.db.query(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND title = $2`, [
      supervisor.id,
      `Low stock ${sku}`,
    ]);
    expect(rows.rows[0].n).toBe(1);
    expect(p.smtp.mails.length).toBe(mailsBefore);
    expect(p.twilio.sent.length).toBe(smsBefore);
  });

  it('groups a burst of different alerts to one phone into one SMS', async () => {
    const smsBefore = p.twilio.sent.length;
    await Promise.all([2, 3, 4].map((i) => lowStock(sys, w, w.sku(i))));
    await waitFor('three emails', () => [2, 3, 4].every((i) => p.smtp.mails.some((m) => m.subject.includes(w.sku(i)))));
    const grouped = await waitFor('the grouped SMS', () =>
      p.twilio.sent.slice(smsBefore).find((s) => s.body.startsWith('3 WMS alerts')),
    );
    for (const i of [2, 3, 4]) expect(grouped.body).toContain(w.sku(i));
    expect(grouped.body.length).toBeLessThanOrEqual(160);
    expect(p.twilio.sent.length - smsBefore).toBe(1);
  });

  it('keeps non-critical alerts to the inbox during quiet hours; critical ones break through', async () => {
    const me = as(sys, sys.tokens.supervisor);
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const now = Date.now();
    expect(
      (
        await me.put('/me/notification-preferences', {
          quietStart: hhmm(new Date(now - 3600_000)),
          quietEnd: hhmm(new Date(now + 3600_000)),
          timeZone: 'UTC',
        })
      ).status,
    ).toBe(200);
    const sku = w.sku(5);
    await lowStock(sys, w, sku);
    await waitFor('the low-stock deliveries', async () =>
      (await deliveriesOf(sys, supervisor.id, `Low stock ${sku}`)).some((d) => d.status === 'sent'),
    );
    const quiet = await deliveriesOf(sys, supervisor.id, `Low stock ${sku}`);
    expect(quiet.map((d) => [d.channel, d.status])).toEqual([
      ['email', 'skipped'],
      ['in_app', 'sent'],
      ['push', 'skipped'],
      ['sms', 'skipped'],
    ]);
    expect(quiet[0].reason).toContain('quiet hours');
    expect(
      (
        await sys.post(`/warehouses/${w.wh}/adjustments`, {
          barcode: sku,
          locationCode: 'A-01',
          quantityDelta: -4,
          reasonCode: 'lost',
        })
      ).status,
    ).toBe(201);
    const critical = await waitFor('the out-of-stock email', () =>
      p.smtp.mails.find((m) => m.subject === `[CRITICAL] Out of stock ${sku}` && m.to === supervisor.email),
    );
    expect(critical).toBeTruthy();
    await waitFor('the admin to be told too', () =>
      p.smtp.mails.some((m) => m.subject === `[CRITICAL] Out of stock ${sku}` && m.to === `admin@${sys.tenant}.local`),
    );
    expect((await me.put('/me/notification-preferences', { quietStart: null, quietEnd: null })).status).toBe(200);
  });

  it('fails fast on a permanent SMS error (Twilio 21211) and retries a temporary one', async () => {
    const admin = as(sys, sys.tokens.admin);
    const make = async (name: string, phone: string) => {
      const user = await admin.post('/admin/users', {
        email: `${name}-${Date.now()}@example.com`,
        displayName: name,
        password: TEST_PASSWORD,
        role: 'supervisor',
        warehouses: ['WH1'],
        phone,
      });
      expect(user.status).toBe(201);
      return user.body.id as string;
    };
    const invalid = await make('invalid', '+15005550001');
    const flaky = await make('flaky', '+15005550002');
    const sku = w.sku(6);
    await lowStock(sys, w, sku);
    await waitFor(
      'the invalid number to fail',
      async () => (await deliveriesOf(sys, invalid, sku)).find((d) => d.channel === 'sms')?.status === 'failed',
    );
    const failed = (await deliveriesOf(sys, invalid, sku)).find((d) => d.channel === 'sms')!;
    expect(failed.attempts).toEqual(['permanent_failure']);
    expect(failed.reason).toContain('21211');
    const dead = await waitFor(
      'the dead letter',
      async () =>
        (
          await sys.db.query(
            `SELECT * FROM dead_letters WHERE queue = 'notifications' AND error_message LIKE '%21211%'`,
          )
        ).rows[0],
    );
    expect(dead.attempts).toBe(1);
    await waitFor(
      'the flaky number to succeed',
      async () => (await deliveriesOf(sys, flaky, sku)).find((d) => d.channel === 'sms')?.status === 'sent',
      20_000,
    );
    expect((await deliveriesOf(sys, flaky, sku)).find((d) => d.channel === 'sms')!.attempts).toEqual([
      'temporary_failure',
      'sent',
    ]);
  });

  it('routes by the tenant’s own rules once it has some, with payload conditions', async () => {
    const admin = as(sys, sys.tokens.admin);
    const adminId = (await admin.get('/auth/me')).body.id;
    const rule = await admin.post('/notification-rules', {
      name: 'nearly empty',
      eventName: 'inventory.low_stock',
      conditions: [{ field: 'available', op: 'lte', value: 1 }],
      recipientUsers: [adminId],
      channels: ['in_app'],
    });
    expect(rule.status).toBe(201);
    const sku = w.sku(7);
    await lowStock(sys, w, sku); // available 4: the condition does not hold, and the defaults no longer apply
    expect(
      (
        await sys.post(`/warehouses/${w.wh}/adjustments`, {
          barcode: sku,
          locationCode: 'A-01',
          quantityDelta: 5,
          reasonCode: 'found',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await sys.post(`/warehouses/${w.wh}/adjustments`, {
          barcode: sku,
          locationCode: 'A-01',
          quantityDelta: -8,
          reasonCode: 'lost',
        })
      ).status,
    ).toBe(201); // available 1
    await waitFor('the admin’s in-app notification', async () =>
      (await admin.get('/me/notifications')).body.items.some((n: { title: string }) => n.title === `Low stock ${sku}`),
    );
    const recipients = await sys.db.query(`SELECT user_id FROM notifications WHERE title = $1 AND tenant_id = $2`, [
      `Low stock ${sku}`,
      sys.tenant,
    ]);
    expect(recipients.rows.map((r) => r.user_id)).toEqual([adminId]);
    expect(
      (
        await fetch(`${sys.url}/notification-rules/${rule.body.id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${sys.tokens.admin}` },
        })
      ).status,
    ).toBe(200);
  });

  it('marks notifications read, one or all', async () => {
    const me = as(sys, sys.tokens.supervisor);
    const inbox = (await me.get('/me/notifications')).body;
    expect(inbox.unread).toBeGreaterThan(1);
    expect((await me.post(`/me/notifications/${inbox.items[0].id}/read`, {})).status).toBe(200);
    expect((await me.get('/me/notifications')).body.unread).toBe(inbox.unread - 1);
    expect((await me.post('/me/notifications/read-all', {})).body.marked).toBe(inbox.unread - 1);
    expect((await me.get('/me/notifications?unread=true')).body).toEqual({ unread: 0, items: [] });
  });

  it('refuses a bad phone number, an unknown channel or event in a rule, and a push subscription with a bad key', async () => {
    const me = as(sys, sys.tokens.supervisor);
    const phone = await me.put('/me/notification-preferences', { phone: '0612345678' });
    expect(phone.status).toBe(400);
    expect(phone.body.errors[0].field).toBe('phone');
    const admin = as(sys, sys.tokens.admin);
    const channel = await admin.post('/notification-rules', {
      name: 'x',
      eventName: 'inventory.low_stock',
      recipientRoles: ['admin'],
      channels: ['pigeon'],
    });
    expect(channel.status).toBe(400);
    expect(channel.body.errors[0].field).toBe('channels');
    const event = await admin.post('/notification-rules', {
      name: 'x',
      eventName: 'order.created',
      recipientRoles: ['admin'],
      channels: ['email'],
    });
    expect(event.body).toMatchObject({ code: 'RULE.UNKNOWN_EVENT', errors: [{ field: 'eventName' }] });
    const offCurve = Buffer.alloc(65, 7);
    offCurve[0] = 4;
    const push = await me.post('/me/push-subscriptions', {
      endpoint: 'https://push.example.com/x',
      keys: { p256dh: offCurve.toString('base64url'), auth: Buffer.alloc(16).toString('base64url') },
    });
    expect(push.status).toBe(400);
    expect(push.body).toMatchObject({ code: 'PUSH.INVALID_SUBSCRIPTION', errors: [{ field: 'keys.p256dh' }] });
    expect((await admin.get('/notification-rules')).body).toEqual([]);
  });
});

describe('SMS budget', () => {
  let sys: TestSystem;
  let p: Providers;
  beforeAll(async () => {
    ({ sys, p } = await startWithProviders({ SMS_DAILY_BUDGET: '1' }));
  });
  afterAll(async () => {
    await sys?.close();
    await Promise.all([p?.smtp.close(), p?.twilio.close(), p?.push.close()]);
  });

  it('holds SMS back once the tenant’s daily budget is used and tells the admins in-app once', async () => {
    const w = await newWarehouse(sys, 3, 'WH1');
    expect(
      (await as(sys, sys.tokens.supervisor).put('/me/notification-preferences', { phone: '+31687654321' })).status,
    ).toBe(200);
    await lowStock(sys, w, w.sku(1));
    await waitFor('the first SMS', () => p.twilio.sent.length === 1);
    await lowStock(sys, w, w.sku(2));
    await lowStock(sys, w, w.sku(3));
    const notice = await waitFor('the admin’s notice', async () =>
      (await as(sys, sys.tokens.admin).get('/me/notifications')).body.items.find(
        (n: { title: string }) => n.title === 'SMS budget reached',
      ),
    );
    expect(notice.body).toContain('1 SMS');
    await waitFor(
      'the held-back SMS deliveries',
      async () =>
        (
          await sys.db.query(
            `SELECT count(*)::int AS n
             FROM notification_deliveries
             WHERE channel = 'sms' AND status = 'suppressed' AND reason LIKE 'daily SMS budget%'`,
          )
        ).rows[0].n >= 1,
    );
    expect(p.twilio.sent).toHaveLength(1);
    const notices = await sys.db.query(
      `SELECT count(*)::int AS n FROM notifications WHERE kind = 'sms_budget_reached' AND tenant_id = $1`,
      [sys.tenant],
    );
    expect(notices.rows[0].n).toBe(1);
  });
});
