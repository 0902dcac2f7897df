// The lean reference pipeline `npm run bench` compares `POST /events` with (issue 15): what a careful engineer
// would hand-build for "HTTP in, stored, pushed to dashboards" with none of the product's guarantees —
// no outbox (a 2xx means "in Redis", not "in Postgres"), no auth, no idempotency, no stream positions.
//   node scripts/bench-lean.mjs api     Fastify with a JSON schema on the body, one BullMQ queue.add per request
//                                       (removeOnComplete), a socket.io server (Redis adapter) clients join room `lean`
//   node scripts/bench-lean.mjs worker  a BullMQ worker at concurrency 500 that collects up to 500 jobs or 10 ms into
//                                       one multi-row INSERT, then one socket.io emit (Redis emitter) per batch
// Env: LEAN_PORT (api), REDIS_URL, DATABASE_URL (worker), LEAN_PREFIX (queue prefix and socket.io channel).
import { randomUUID } from 'node:crypto';
import { Emitter } from '@socket.io/redis-emitter';
import { createAdapter } from '@socket.io/redis-adapter';
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Server } from 'socket.io';

const role = process.argv[2];
const u = new URL(process.env.REDIS_URL);
const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
const prefix = process.env.LEAN_PREFIX;
const channel = `${prefix}-lean-socket.io`;
const QUEUE = 'lean-events';

if (role === 'api') {
  const queue = new Queue(QUEUE, { connection, prefix });
  const app = Fastify({ logger: false });
  app.post(
    '/events',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'payload'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$' },
            payload: {
              type: 'object',
              required: ['warehouseId', 'orderNumber', 'carrierCode', 'trackingNumber', 'status'],
              additionalProperties: false,
              properties: {
                warehouseId: { type: 'string', minLength: 1, maxLength: 32 },
                orderNumber: { type: 'string', minLength: 1, maxLength: 64 },
                carrierCode: { type: 'string', minLength: 1, maxLength: 32 },
                trackingNumber: { type: 'string', minLength: 1, maxLength: 64 },
                status: { type: 'string', enum: ['in_transit', 'out_for_delivery', 'delivered', 'exception'] },
                detail: { type: 'string', maxLength: 200 },
              },
            },
          },
        },
        response: { 202: { type: 'object', properties: { id: { type: 'string' } } } },
      },
    },
    async (req, reply) => {
      const id = randomUUID();
      await queue.add('event', { id, ...req.body }, { removeOnComplete: true });
      reply.code(202);
      return { id };
    },
  );
  const io = new Server(app.server, { transports: ['websocket'] });
  io.adapter(createAdapter(new Redis(connection), new Redis(connection), { key: channel }));
  io.on('connection', (socket) => socket.join('lean'));
  await app.listen({ port: Number(process.env.LEAN_PORT), host: '127.0.0.1' });
  process.on('SIGTERM', async () => {
    io.close();
    await app.close();
    await queue.close();
    process.exit(0);
  });
} else if (role === 'worker') {
  const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  await db.query(`CREATE TABLE IF NOT EXISTS lean_events (
    id uuid PRIMARY KEY, name text NOT NULL, payload jsonb NOT NULL, stored_at timestamptz NOT NULL DEFAULT now())`);
  const emitter = new Emitter(new Redis(connection), { key: channel });
  let pending = [];
  let timer = null;
  const flush = async () => {
    clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    try {
      await db.query(
        `INSERT INTO lean_events (id, name, payload)
         SELECT id, name, payload FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, name text, payload jsonb)`,
        [JSON.stringify(batch.map((b) => b.data))],
      );
      emitter.to('lean').emit(
        'batch',
        batch.map((b) => b.data),
      );
      for (const b of batch) b.resolve();
    } catch (error) {
      for (const b of batch) b.reject(error);
    }
  };
  const worker = new Worker(
    QUEUE,
    (job) =>
      new Promise((resolve, reject) => {
        pending.push({ data: job.data, resolve, reject });
        if (pending.length >= 500) void flush();
        else timer ??= setTimeout(flush, 10);
      }),
    { connection, prefix, concurrency: 500 },
  );
  process.on('SIGTERM', async () => {
    await worker.close();
    await db.end();
    process.exit(0);
  });
  process.send?.('ready');
} else {
  console.error('usage: node scripts/bench-lean.mjs api|worker');
  process.exit(2);
}
