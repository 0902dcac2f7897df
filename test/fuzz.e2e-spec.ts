import { getQueueToken } from '@nestjs/bullmq';
import { EventCatalog, WATCHED_QUEUES } from '@wms/events';
import type { Queue } from 'bullmq';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiRoute, apiRoutes } from './support/api-routes.js';
import { draftOf, ingredients, mustRefuse, requestOf, type RouteInput } from './support/fuzz-inputs.js';
import { startSystem, TEST_PASSWORD, type TestSystem, tracking } from './support/system.js';
import { gtin, newWarehouse, stockUp } from './support/warehouse-factory.js';

/**
 * Property: no request, however bad, gets a 5xx. Every route of the api (from Nest's router) is called as a caller it
 * allows, with requests bent from a valid one by ingredients drawn from its DTOs' class-validator metadata and its path
 * parameters. Each answer must be a 4xx in the error shape, at least 20 per route must come from its validation (a 400
 * naming a field), and the fuzz tenant's rows and the queues must be as they were.
 *
 * Seeded: the seed is printed; `FUZZ_SEED=<n> npm test -- dist/test/fuzz` replays a run. `FUZZ_RUNS` sets the
 * requests per route; `FUZZ_ROUTE='POST /events'` fuzzes only the routes that contain it (same cases as in a full run).
 */
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const MIN_VALIDATION_HITS = 20;
const MAX_ROUNDS = 4;
const ONLY = process.env.FUZZ_ROUTE;

/** Routes that read nothing a caller sends (no body, query or path parameter): exempt from the validation count. */
const NO_INPUT = [
  'GET /admin/tenants',
  'GET /admin/users',
  'GET /auth/me',
  'GET /event-types',
  'GET /health',
  'GET /health/live',
  'GET /me/notification-preferences',
  'GET /me/push-subscriptions/vapid-public-key',
  'GET /metrics',
  'GET /notification-rules',
  'POST /me/notifications/read-all',
];

type Caller = 'anonymous' | 'admin' | 'supervisor' | 'operator' | 'device' | 'integration';

const callersOf = (route: ApiRoute): Caller[] => {
  if (route.allow === 'public') return ['anonymous'];
  const allow = route.allow;
  return (['admin', 'supervisor', 'operator', 'device', 'integration'] as const).filter((c) =>
    allow.includes(c === 'device' ? 'operator' : c),
  );
};

const uuid = (n: number) => `01900000-0000-7000-8000-${String(n).padStart(12, '0')}`;

interface Setup {
  tokens: Record<Exclude<Caller, 'anonymous'>, string>;
  inputs: Record<string, RouteInput>;
  /** Identifiers that name something real, per path parameter: a request using one might succeed. */
  known: Record<string, Set<string>>;
  /** Well-formed identifiers that name nothing, per path parameter. */
  unknown: Record<string, string[]>;
}

/** A warehouse with stock, a hold, an ASN, orders in each state, people, credentials, a tenant and a rule. */
async function setUp(sys: TestSystem): Promise<Setup> {
  const ok = async (path: string, body: unknown) => {
    const res = await sys.post(path, body);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
    return res.body;
  };
  const w = await newWarehouse(sys, 2, 'WH1');
  const [sku1, sku2] = [w.sku(1), w.sku(2)];
  await stockUp(sys, w, sku1, 'A-01', 50);
  await ok('/warehouses/WH1/holds', { barcode: sku1, locationCode: 'A-01', quantity: 5, reason: 'fuzz' });
  await ok('/warehouses/WH1/asns', {
    asnNumber: 'ASN-FZ',
    supplierCode: w.supplier,
    lines: [{ barcode: w.products[sku2], quantity: 5 }],
  });
  const orders = ['SO-NEW', 'SO-ALLOC', 'SO-PICKED', 'SO-PACKED'];
  for (const orderNumber of orders)
    await ok('/warehouses/WH1/orders', {
      orderNumber,
      customerCode: w.customer,
      lines: [{ barcode: sku1, quantity: 2 }],
    });
  const allocate = async (n: string) =>
    (await ok(`/warehouses/WH1/orders/${n}/allocate`, {})).pickTasks as {
      taskId: string;
      locationCode: string;
      quantity: number;
    }[];
  const [task] = await allocate('SO-ALLOC');
  for (const n of ['SO-PICKED', 'SO-PACKED'])
    for (const t of await allocate(n))
      await ok(`/warehouses/WH1/picks/${t.taskId}`, {
        locationCode: t.locationCode,
        barcode: sku1,
        quantity: t.quantity,
      });
  await ok('/warehouses/WH1/orders/SO-PACKED/pack', { cartons: [{ cartonId: 'C1', weightKg: 1.5 }] });
  await ok('/warehouses/WH1/locations/A-04/block', { reason: 'fuzz' });
  const user = await ok('/admin/users', {
    email: `fuzz@${sys.tenant}.example`,
    displayName: 'Fuzz',
    password: TEST_PASSWORD,
    role: 'operator',
    warehouses: ['WH1'],
  });
  const device = await ok('/admin/devices', { name: 'fuzz scanner', warehouses: ['WH1'] });
  const spareDevice = await ok('/admin/devices', { name: 'spare scanner', warehouses: ['WH1'] });
  const key = await ok('/admin/api-keys', { name: 'fuzz erp', warehouses: [] });
  const spareKey = await ok('/admin/api-keys', { name: 'spare erp', warehouses: [] });
  const tenant = `fz-${sys.tenant}`;
  await ok('/admin/tenants', { id: tenant, name: 'Fuzz', adminEmail: `it@${tenant}.example`, adminName: 'Fuzz admin' });
  const rule = {
    name: 'Night shift',
    eventName: 'inventory.low_stock',
    conditions: [{ field: 'available', op: 'lte', value: 1 }],
    minSeverity: 'warning',
    recipientUsers: [user.id],
    recipientRoles: ['supervisor'],
    channels: ['in_app', 'email'],
    enabled: true,
  };
  const ruleId = (await ok('/notification-rules', rule)).id as string;
  const eventId = (await ok('/events', tracking({ orderNumber: 'SO-NEW' }))).id as string;

  const wh = { wh: 'WH1' };
  const none: RouteInput = { params: {}, query: {} };
  const body = (b: unknown, params: Record<string, string> = {}): RouteInput => ({ params, query: {}, body: b });
  const partner = body({ code: 'NEW-P', name: 'Partner' });
  const credential = body({ name: 'scanner 9', warehouses: ['WH1'] });
  const move = body({ barcode: sku1, fromLocation: 'A-01', toLocation: 'A-02', quantity: 1 }, wh);
  const filter = {
    status: 'open',
    queue: 'events',
    jobName: 'process-event',
    eventName: 'inventory.adjusted',
    warehouseId: 'WH1',
    fingerprint: '0123456789abcdef',
    from: '2026-01-01T00:00:00Z',
    to: '2027-01-01T00:00:00Z',
    search: 'SO-NEW',
  };
  const inputs: Record<string, RouteInput> = {
    'GET /health': none,
    'GET /health/live': none,
    'POST /auth/login': body({ email: 'nobody@fuzz.invalid', password: 'not-the-password' }),
    'POST /auth/refresh': body({ refreshToken: 'not-a-refresh-token' }),
    'POST /auth/logout': body({ refreshToken: 'not-a-refresh-token' }),
    'POST /auth/set-password': body({ code: 'not-a-set-password-code', password: 'a-new-password-1234' }),
    'GET /auth/me': none,
    'POST /events': {
      ...body({
        ...tracking({ orderNumber: 'SO-NEW', detail: 'out for delivery' }),
        version: 1,
        occurredAt: '2026-11-25T08:30:00Z',
        correlationId: uuid(10),
        causationId: uuid(11),
      }),
      inner: { payload: EventCatalog.resolve('carrier.tracking_updated').payload },
    },
    'POST /events/batch': body({
      items: [
        {
          ...tracking({ orderNumber: 'SO-NEW', detail: 'out for delivery' }),
          occurredAt: '2026-11-25T08:30:00Z',
          idempotencyKey: 'fuzz-batch-1',
        },
      ],
    }),
    'GET /events': {
      params: {},
      query: { name: 'carrier.tracking_updated', warehouseId: 'WH1', from: '2026-01-01T00:00:00Z', limit: '10' },
    },
    'GET /events/stream': { params: {}, query: { after: 'now', warehouseId: 'WH1', limit: '10' } },
    'GET /events/:id': { params: { id: eventId }, query: {} },
    'GET /event-types': none,
    'GET /admin/users': none,
    'POST /admin/users': body({
      email: 'new-person@fuzz.invalid',
      displayName: 'New Person',
      password: TEST_PASSWORD,
      role: 'operator',
      warehouses: ['WH1'],
      phone: '+31612345678',
      timeZone: 'Europe/Amsterdam',
    }),
    'PATCH /admin/users/:id': body({ role: 'supervisor', warehouses: ['WH1'], disabled: false }, { id: user.id }),
    'POST /admin/users/:id/unlock': { params: { id: user.id }, query: {} },
    'POST /admin/devices': credential,
    'DELETE /admin/devices/:id': { params: { id: spareDevice.id }, query: {} },
    'POST /admin/api-keys': credential,
    'POST /admin/api-keys/:id/rotate': { params: { id: spareKey.id }, query: {} },
    'DELETE /admin/api-keys/:id': { params: { id: spareKey.id }, query: {} },
    'GET /admin/tenants': none,
    'POST /admin/tenants': body({ id: 'fz-new', name: 'New', adminEmail: 'it@fz-new.example', adminName: 'Admin' }),
    'POST /admin/tenants/:id/admin-code': body({ email: `it@${tenant}.example` }, { id: tenant }),
    'POST /admin/tenants/:id/suspend': body({ reason: 'contract ended' }, { id: tenant }),
    'POST /admin/tenants/:id/resume': { params: { id: tenant }, query: {} },
    'GET /admin/audit': { params: {}, query: { limit: '10', before: '1000' } },
    'POST /warehouses': body({ code: 'WH-NEW', name: 'New', timeZone: 'Europe/Amsterdam' }),
    'POST /warehouses/:wh/zones': body({ code: 'Z', name: 'Zone' }, wh),
    'POST /warehouses/:wh/locations': body({ code: 'Z-01', zoneCode: 'A', capacity: 10 }, wh),
    'POST /warehouses/:wh/locations/:code/block': body({ reason: 'rack damaged' }, { ...wh, code: 'A-03' }),
    'POST /warehouses/:wh/locations/:code/unblock': { params: { ...wh, code: 'A-04' }, query: {} },
    'POST /products': body({
      sku: 'NEW-SKU',
      gtin: gtin(999_999),
      name: 'New product',
      unitOfMeasure: 'EA',
      reorderPoint: 1,
      maxLevel: 100,
    }),
    'PATCH /products/:sku': body({ name: 'Renamed', reorderPoint: 2, maxLevel: 50 }, { sku: sku2 }),
    'POST /products/:sku/discontinue': body({ reason: 'end of life' }, { sku: sku2 }),
    'POST /suppliers': partner,
    'POST /customers': partner,
    'POST /carriers': partner,
    'POST /warehouses/:wh/asns': body(
      { asnNumber: 'ASN-NEW', supplierCode: w.supplier, lines: [{ barcode: w.products[sku2], quantity: 5 }] },
      wh,
    ),
    'POST /warehouses/:wh/asns/:number/close': { params: { ...wh, number: 'ASN-FZ' }, query: {} },
    'POST /warehouses/:wh/receipts': body(
      {
        barcode: w.products[sku1],
        locationCode: 'DOCK-1',
        quantity: 1,
        damaged: 0,
        asnNumber: 'ASN-FZ',
        lot: 'L1',
        expiresOn: '2027-03-31',
      },
      wh,
    ),
    'POST /warehouses/:wh/holds': body(
      { barcode: sku1, locationCode: 'A-01', lot: '', quantity: 1, reason: 'wet' },
      wh,
    ),
    'POST /warehouses/:wh/holds/release': body({ barcode: sku1, locationCode: 'A-01', quantity: 1 }, wh),
    'POST /warehouses/:wh/putaways': move,
    'POST /warehouses/:wh/adjustments': body(
      { barcode: sku1, locationCode: 'A-01', quantityDelta: -1, reasonCode: 'damaged' },
      wh,
    ),
    'POST /warehouses/:wh/moves': move,
    'POST /warehouses/:wh/counts': body({ barcode: sku1, locationCode: 'A-01', counted: 50 }, wh),
    'POST /warehouses/:wh/scans/batch': body(
      {
        items: [
          {
            operation: 'adjust',
            body: { barcode: sku1, locationCode: 'A-01', quantityDelta: -1, reasonCode: 'damaged' },
            idempotencyKey: 'fuzz-scan-1',
            scannedAt: new Date().toISOString(),
          },
        ],
      },
      wh,
    ),
    'GET /warehouses/:wh/stock': { params: wh, query: { sku: sku1, locationCode: 'A-01' } },
    'POST /warehouses/:wh/orders': body(
      { orderNumber: 'SO-X', customerCode: w.customer, lines: [{ barcode: sku1, quantity: 1 }] },
      wh,
    ),
    'GET /warehouses/:wh/orders/:number': { params: { ...wh, number: 'SO-NEW' }, query: {} },
    'POST /warehouses/:wh/orders/:number/allocate': { params: { ...wh, number: 'SO-NEW' }, query: {} },
    'POST /warehouses/:wh/picks/:taskId': body(
      { locationCode: task.locationCode, barcode: sku1, quantity: task.quantity },
      { ...wh, taskId: task.taskId },
    ),
    'POST /warehouses/:wh/orders/:number/pack': body(
      { cartons: [{ cartonId: 'C1', weightKg: 1.5 }] },
      { ...wh, number: 'SO-PICKED' },
    ),
    'POST /warehouses/:wh/orders/:number/ship': body(
      { carrierCode: w.carrier, trackingNumber: 'JD0001' },
      { ...wh, number: 'SO-PACKED' },
    ),
    'POST /warehouses/:wh/orders/:number/cancel': body({ reason: 'customer cancelled' }, { ...wh, number: 'SO-NEW' }),
    'GET /me/notifications': { params: {}, query: { limit: '10', unread: 'true' } },
    'POST /me/notifications/:id/read': { params: { id: uuid(1) }, query: {} },
    'POST /me/notifications/read-all': none,
    'GET /me/notification-preferences': none,
    'PUT /me/notification-preferences': body({
      muted: { stock: ['sms'], inbound: [], outbound: ['email'], system: [] },
      quietStart: '22:00',
      quietEnd: '06:00',
      emailDigest: true,
      phone: '+31612345678',
      timeZone: 'Europe/Amsterdam',
    }),
    'GET /me/push-subscriptions/vapid-public-key': none,
    'POST /me/push-subscriptions': body({
      endpoint: 'https://push.example.com/send/abc',
      keys: { p256dh: 'B'.repeat(87), auth: 'A'.repeat(22) },
    }),
    'DELETE /me/push-subscriptions/:id': { params: { id: uuid(2) }, query: {} },
    'GET /notification-rules': none,
    'POST /notification-rules': body(rule),
    'PUT /notification-rules/:id': body(rule, { id: ruleId }),
    'DELETE /notification-rules/:id': { params: { id: ruleId }, query: {} },
    'GET /admin/dead-letters': { params: {}, query: { status: 'open', search: 'SO-NEW', limit: '10' } },
    'GET /admin/dead-letters/groups': { params: {}, query: { status: 'open', from: '2026-01-01T00:00:00Z' } },
    'GET /admin/dead-letters/:id': { params: { id: uuid(3) }, query: {} },
    'POST /admin/dead-letters/:id/retry': { params: { id: uuid(3) }, query: {} },
    'POST /admin/dead-letters/retry': body({ filter, dryRun: true, all: false, perSecond: 20 }),
    'POST /admin/dead-letters/:id/discard': body({ reason: 'fixed by hand' }, { id: uuid(3) }),
    'POST /admin/replays': body({
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-02T00:00:00Z',
      name: 'inventory.adjusted',
      aggregateType: 'stock',
      aggregateId: 'WH1/SKU/A-01',
      warehouseId: 'WH1',
      listener: 'none',
      broadcast: false,
    }),
    // The one queued listener sends notifications: a rebuild of it is refused (422), so nothing runs.
    'POST /admin/listeners/:listener/rebuild': body(
      { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', dryRun: true },
      { listener: 'route-notifications-when-event-stored' },
    ),
    'GET /admin/listeners/:listener/rebuilds/:id': {
      params: { listener: 'route-notifications-when-event-stored', id: uuid(4) },
      query: {},
    },
    'GET /dashboard/stats': { params: {}, query: { warehouseId: 'WH1', minutes: '60' } },
    'GET /metrics': none,
  };
  const known: Record<string, Set<string>> = {
    wh: new Set(['WH1']),
    code: new Set(['DOCK-1', 'A-01', 'A-02', 'A-03', 'A-04']),
    sku: new Set([sku1, sku2]),
    number: new Set(['ASN-FZ', ...orders]),
    taskId: new Set([task.taskId]),
    listener: new Set<string>(),
    id: new Set([user.id, device.id, spareDevice.id, key.id, spareKey.id, tenant, sys.tenant, ruleId, eventId]),
  };
  for (const input of Object.values(inputs))
    for (const [name, value] of Object.entries(input.params)) known[name].add(value);
  return {
    tokens: { ...sys.tokens, device: device.token, integration: key.token },
    inputs,
    known,
    unknown: {
      wh: ['NOPE', 'WH9'],
      code: ['Z-404'],
      sku: ['NOPE-SKU'],
      number: ['SO-404'],
      taskId: [uuid(404)],
      listener: ['no-such-listener'],
      id: [uuid(404), 'fz-nope'],
    },
  };
}

/** Count and checksum of every table's rows of the tenant (every row, for tables without a tenant), and the queues. */
async function snapshot(sys: TestSystem): Promise<Record<string, unknown>> {
  const { rows: tables } = await sys.db.query<{ name: string; tenant: boolean }>(
    `SELECT c.relname AS name,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id') AS tenant
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     ORDER BY 1`,
  );
  const out: Record<string, unknown> = {};
  for (const { name, tenant } of tables) {
    const where =
      name === 'event_outbox' ? `WHERE t.envelope->>'tenantId' = $1` : tenant ? 'WHERE t.tenant_id = $1' : '';
    const { rows } = await sys.db.query(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS sum
       FROM "${name}" t ${where}`,
      where ? [sys.tenant] : [],
    );
    out[name] = rows[0];
  }
  for (const name of WATCHED_QUEUES)
    out[`queue:${name}`] = await sys.api.get<Queue>(getQueueToken(name), { strict: false }).getJobCounts();
  return out;
}

interface Answer {
  status: number;
  contentType: string;
  body: any;
}

/** Why an answer to a bad request is wrong, or null. A request for something that does not exist may get a 2xx. */
function problemWith(res: Answer, unknownOnly: boolean): string | null {
  if (res.status >= 500) return `${res.status} ${res.body?.code ?? ''}`.trim();
  if (res.status < 300 && unknownOnly) return null;
  if (res.status < 400) return `${res.status}: a bad request was accepted`;
  if (res.status === 429) return '429: rate limited (the fuzz run raises the limits; see startSystem below)';
  if (!res.contentType.startsWith('application/json')) return `${res.status} without a JSON body (${res.contentType})`;
  const b = res.body;
  const shaped =
    b !== null &&
    typeof b === 'object' &&
    Object.keys(b).sort().join() === 'code,errors,message,statusCode' &&
    b.statusCode === res.status &&
    typeof b.code === 'string' &&
    typeof b.message === 'string' &&
    Array.isArray(b.errors) &&
    b.errors.every((e: any) => typeof e?.field === 'string' && typeof e?.reason === 'string');
  return shaped ? null : `${res.status} not in the error shape: ${JSON.stringify(b).slice(0, 200)}`;
}

/** A 400 from validation: it names a field of what was sent (not just the body as a whole). */
const fromValidation = (res: Answer) =>
  res.status === 400 && (res.body?.errors as { field: string }[]).some((e) => e.field && e.field !== 'body');

/** A seed per route, from the run's seed, so replaying the run replays every route. */
const seedOf = (route: string) =>
  [...route].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, SEED) & 0x7fffffff;

describe('fuzzing every route with bad input', () => {
  let sys: TestSystem;
  let setup: Setup;
  let routes: ApiRoute[];
  beforeAll(async () => {
    console.log(`fuzz seed ${SEED}: replay with FUZZ_SEED=${SEED} npm test -- dist/test/fuzz`);
    // No worker: what the api accepts stays visible in the outbox and the queues, and nothing else writes meanwhile.
    // The limits are far above the fuzz run's few thousand requests, so they are answered, not throttled.
    sys = await startSystem({
      worker: false,
      env: { RATE_LIMIT_PER_MINUTE: '10000000', LOGIN_RATE_PER_MINUTE: '10000000' },
    });
    setup = await setUp(sys);
    routes = apiRoutes(sys.api);
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('has a fuzz profile for every route of the api, and lists the routes that take no input', () => {
    expect(routes.map((r) => r.route)).toEqual(Object.keys(setup.inputs).sort());
    const noInput = routes.filter((r) => !r.body && !r.query && r.params.length === 0).map((r) => r.route);
    expect(noInput).toEqual([...NO_INPUT].sort());
  });

  it('starts every route from an input its own pipes accept', async () => {
    const refused: string[] = [];
    for (const route of routes) {
      const input = setup.inputs[route.route];
      const draft = draftOf(input);
      const exists = (name: string, value: string) => setup.known[name]?.has(value) ?? false;
      if ((await mustRefuse(route, requestOf(route, draft), draft, input.inner, exists)) !== null)
        refused.push(route.route);
    }
    expect(refused).toEqual([]);
  });

  it('answers bad input on every route with a 4xx in the error shape, never a 5xx, and changes nothing', async () => {
    const before = await snapshot(sys);
    const failures: string[] = [];
    const hits: Record<string, number> = {};
    const requests: Record<string, number> = {};
    const started = Date.now();
    for (const route of routes.filter((r) => !ONLY || r.route.includes(ONLY))) {
      const input = setup.inputs[route.route];
      const callers = callersOf(route);
      const exists = (name: string, value: string) => setup.known[name]?.has(value) ?? false;
      let last: string | undefined;
      hits[route.route] = 0;
      requests[route.route] = 0;
      const property = fc.asyncProperty(
        fc.constantFrom(...callers),
        ingredients(route, input, setup.unknown),
        async (caller, parts) => {
          const draft = draftOf(input);
          for (const part of parts) part.apply(draft);
          const req = requestOf(route, draft);
          const expected = parts.some((p) => p.sure?.(draft))
            ? 'refuse'
            : await mustRefuse(route, req, draft, input.inner, exists);
          fc.pre(expected !== null);
          const notes = parts.map((p) => p.note);
          requests[route.route]++;
          const res = await send(sys.url, req, caller === 'anonymous' ? undefined : setup.tokens[caller]);
          const problem = problemWith(res, expected === 'unknown');
          if (!problem) {
            if (fromValidation(res)) hits[route.route]++;
            return true;
          }
          const describe = [
            `${route.route} → ${problem}`,
            `  as ${caller}: ${req.method} ${req.url.slice(0, 300)}  [${req.contentType}]`,
            `  body: ${(req.body ?? '').slice(0, 300)}`,
            `  bad in: ${notes.join('; ')}`,
            `  answer: ${JSON.stringify(res.body)?.slice(0, 300)}`,
          ].join('\n');
          last = describe;
          return false;
        },
      );
      // Rounds of RUNS requests until MIN_VALIDATION_HITS of them reached validation (a route whose bad requests are
      // mostly turned away by its guards gets more), at most MAX_ROUNDS.
      const exempt = NO_INPUT.includes(route.route);
      for (let round = 0; round < (exempt ? 1 : MAX_ROUNDS); round++) {
        const result = await fc.check(property, { seed: seedOf(route.route) + round, numRuns: exempt ? 10 : RUNS });
        if (result.failed) {
          failures.push(
            `${last}\n  replay: FUZZ_SEED=${SEED} (route seed ${result.seed}, path ${result.counterexamplePath})`,
          );
          break;
        }
        if (hits[route.route] >= MIN_VALIDATION_HITS) break;
      }
    }
    const sent = Object.values(requests).reduce((a, b) => a + b, 0);
    const fewest = Object.entries(hits)
      .filter(([route]) => !NO_INPUT.includes(route))
      .sort((a, b) => a[1] - b[1])[0];
    console.log(
      `fuzz: ${sent} requests to ${Object.keys(requests).length} routes in ${Math.round((Date.now() - started) / 1000)} s;` +
        ` fewest answers from validation: ${fewest?.[1]} (${fewest?.[0]})`,
    );
    expect(failures, `seed ${SEED}`).toEqual([]);
    const few = Object.entries(hits).filter(([route, n]) => !NO_INPUT.includes(route) && n < MIN_VALIDATION_HITS);
    expect(few, `routes with fewer than ${MIN_VALIDATION_HITS} answers from validation (seed ${SEED})`).toEqual([]);
    expect(await snapshot(sys)).toEqual(before);
  }, 120_000);
});

async function send(url: string, req: ReturnType<typeof requestOf>, token: string | undefined): Promise<Answer> {
  const res = await fetch(`${url}${req.url}`, {
    method: req.method,
    headers: { 'content-type': req.contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: req.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body };
}
