import 'reflect-metadata';
import type { INestApplicationContext, ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEnvelope, EVENTS_MESSAGE } from '@wms/events';
import { type ApiSettings, loadApiConfig } from '../../apps/api/src/api-config.js';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { io, Socket } from 'socket.io-client';
import { createApi } from '../../apps/api/src/api.js';
import { seedTenantUsers } from '../../apps/api/src/auth/demo-seed.js';
import { WorkerModule } from '../../apps/worker/src/worker.module.js';
import { testEnv } from './env.js';

export interface Tokens {
  admin: string;
  supervisor: string;
  operator: string;
}

export const TEST_PASSWORD = 'correct-horse-battery-staple';
export const TEST_AUTH_SECRET = 'test-secret-test-secret-test-secret-0123';
export const TEST_WAREHOUSES = ['WH1', 'WH2'];

export interface SystemOptions {
  mode?: 'redis' | 'postgres';
  /** Extra modules for the worker and api (e.g. test listeners). */
  imports?: ModuleMetadata['imports'];
  env?: Record<string, string>;
  /** false: start only the api (the test runs its own worker). */
  worker?: boolean;
}

/** The whole product in this process: api on a free port and a worker, on an isolated queue prefix. */
export interface TestSystem {
  /** The api's Nest application, to reach lib services directly. */
  api: INestApplicationContext;
  /** The in-process worker, when started. */
  worker?: INestApplicationContext;
  url: string;
  config: ApiSettings;
  env: Record<string, string>;
  db: pg.Pool;
  /** A fresh tenant per test keeps tests independent in one database. */
  tenant: string;
  /** Access tokens of this tenant's users (operator and supervisor assigned to WH1 and WH2). */
  tokens: Tokens;
  /** Another tenant with its own users, for isolation tests. */
  newTenant(): Promise<{ tenant: string; tokens: Tokens }>;
  login(email: string, password?: string): Promise<{ status: number; body: any }>;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  socket(
    subscription: { warehouseId?: string; names?: string[] },
    token?: string,
  ): Promise<{ socket: Socket; received: EventEnvelope[] }>;
  close(): Promise<void>;
}

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const mode = options.mode ?? 'redis';
  const ownTenant = `t-${randomUUID().slice(0, 8)}`;
  const env: Record<string, string> = {
    DATABASE_URL: testEnv.databaseUrl,
    QUEUE_CONNECTION: mode,
    QUEUE_PREFIX: `t${randomUUID().slice(0, 8)}`,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUTH_SECRET: TEST_AUTH_SECRET,
    // Suites sign in many users from one address; the sign-in limit has its own test.
    LOGIN_RATE_PER_MINUTE: '10000',
    OPS_TENANT: ownTenant,
    OPENAPI_ENABLED: 'true',
    // Push endpoints in the suites are local HTTPS servers; the outbound URL policy has its own tests.
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
    // The suite's private redis-server, unless the test brings a Redis Cluster (the two are exclusive).
    ...(mode === 'redis' && !options.env?.REDIS_CLUSTER_NODES ? { REDIS_URL: testEnv.redisUrl } : {}),
    ...options.env,
  };
  const config = loadApiConfig(env);
  const contexts: INestApplicationContext[] = [];
  const sockets: Socket[] = [];
  let worker: INestApplicationContext | undefined;
  if (options.worker !== false) {
    worker = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, options.imports), {
      logger: false,
    });
    worker.enableShutdownHooks();
    await worker.init();
    contexts.push(worker);
  }
  const api = await createApi(config, options.imports);
  await api.listen(0, '127.0.0.1');
  contexts.push(api);
  const url = (await api.getUrl()).replace('[::1]', '127.0.0.1');
  const db = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 4 });
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin}`, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };

  const login = (email: string, password = TEST_PASSWORD) =>
    request('POST', '/auth/login', { email, password }, { authorization: '' });
  const newTenant = async (tenant = `t-${randomUUID().slice(0, 8)}`) => {
    const emails = await seedTenantUsers(testEnv.databaseUrl, tenant, TEST_PASSWORD, TEST_WAREHOUSES);
    const token = async (email: string) => {
      const res = await login(email);
      if (res.status !== 200) throw new Error(`login as ${email} failed: ${JSON.stringify(res.body)}`);
      return res.body.accessToken as string;
    };
    return {
      tenant,
      tokens: {
        admin: await token(emails.admin),
        supervisor: await token(emails.supervisor),
        operator: await token(emails.operator),
      },
    };
  };
  let tokens: Tokens = { admin: '', supervisor: '', operator: '' };
  const mine = await newTenant(ownTenant);
  tokens = mine.tokens;
  const tenant = mine.tenant;

  return {
    api,
    worker,
    url,
    config,
    env,
    db,
    tenant,
    tokens,
    newTenant,
    login,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    async socket(subscription, token = tokens.admin) {
      const socket = io(url, { transports: ['websocket'], auth: { token }, reconnectionDelay: 100 });
      sockets.push(socket);
      const received: EventEnvelope[] = [];
      socket.on(EVENTS_MESSAGE, (batch: EventEnvelope[]) => received.push(...batch));
      const ack = await socket.timeout(5000).emitWithAck('subscribe', subscription);
      if (!ack.ok) throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
      return { socket, received };
    },
    async close() {
      for (const s of sockets) s.disconnect();
      for (const c of contexts.reverse()) await c.close();
      await db.end();
    },
  };
}

/** An integration event (the kind POST /events accepts): a carrier's tracking update for an order. */
export const tracking = (overrides: Record<string, unknown> = {}) => ({
  name: 'carrier.tracking_updated',
  payload: {
    warehouseId: 'WH1',
    orderNumber: 'SO-1',
    carrierCode: 'DHL',
    trackingNumber: 'JD000001',
    status: 'in_transit',
    ...overrides,
  },
});

/** A stored-shape envelope of `tracking` for the order `SO-<order>`, as if accepted at `ms` (its UUIDv7 id too). */
export function trackingEnvelopeAt(tenantId: string, ms: number, order: string, streamPosition = 1): EventEnvelope {
  const id = uuidv7({ msecs: ms });
  const at = new Date(ms).toISOString();
  return {
    id,
    name: 'carrier.tracking_updated',
    version: 1,
    occurredAt: at,
    recordedAt: at,
    source: 'test',
    actor: { type: 'system', id: 'test' },
    tenantId,
    warehouseId: 'WH1',
    correlationId: id,
    causationId: null,
    aggregateType: 'order',
    aggregateId: `WH1/SO-${order}`,
    streamPosition,
    payload: tracking({ orderNumber: `SO-${order}` }).payload,
  };
}

/** Accepted events of a tenant wherever they are — outbox, store, or briefly both —, counted once in one snapshot. */
export async function acceptedEvents(db: pg.Pool, tenant: string): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n
     FROM (
       SELECT id FROM event_outbox WHERE envelope->>'tenantId' = $1
       UNION
       SELECT id FROM event_store WHERE tenant_id = $1
     ) e`,
    [tenant],
  );
  return rows[0].n as number;
}
