import 'reflect-metadata';
import { getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ConfigError,
  EventsModule,
  exemptTables,
  MAINTENANCE_QUEUE,
  type PruneReport,
  PRUNE_TABLES_JOB,
  TablePruner,
  tableLifetimes,
} from '@wms/events';
import { NotificationsModule } from '@wms/notifications';
import { WmsDomainModule } from '@wms/wms-domain';
import type { Queue } from 'bullmq';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../apps/api/src/api-config.js';
import { loadWorkerConfig, type WorkerSettings } from '../apps/worker/src/worker-config.js';
import { WorkerModule } from '../apps/worker/src/worker.module.js';
import { testEnv } from './support/env.js';
import { waitFor } from './support/wait-for.js';

/** What the CLI and the worker run pruning with: the libraries' modules, no processors. */
@Module({})
class PrunerModule {
  static forRoot(config: WorkerSettings): DynamicModule {
    return {
      module: PrunerModule,
      imports: [EventsModule.forRoot(config), NotificationsModule.forRoot(config), WmsDomainModule],
    };
  }
}

const opsTenant = `ops-${randomUUID().slice(0, 8)}`;
const settings = (extra: Record<string, string> = {}) =>
  loadWorkerConfig({
    DATABASE_URL: testEnv.databaseUrl,
    REDIS_URL: testEnv.redisUrl,
    QUEUE_PREFIX: `t${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'silent',
    OPS_TENANT: opsTenant,
    ...extra,
  });

/**
 * Rows of one table, each labelled: `gone…` ones outlived the lifetime (defaults: IDEMPOTENCY_TTL_HOURS 168,
 * EVENT_RETENTION_DAYS 90, NOTIFY_DEDUP_WINDOW_S 3600), `kept…` ones did not, or are exempt from it.
 */
interface Fixture {
  /** Inserts this test's rows, labelled under `tag`; returns their labels. */
  seed(db: pg.Pool, tag: string): Promise<string[]>;
  /** The labels of this test's rows still there. */
  left(db: pg.Pool, tag: string): Promise<string[]>;
}

const labels = async (db: pg.Pool, sql: string, tag: string) =>
  (await db.query(sql, [`${tag}:%`])).rows.map((r) => String(r.label).split(':')[1]).sort();

const newUser = async (db: pg.Pool, tag: string) => {
  const id = randomUUID();
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name, password_hash, role)
     VALUES ($1, $2, $3, 'Lifetimes', 'x', 'operator')`,
    [id, `t-${tag}`, `${tag}@lifetimes.test`],
  );
  return id;
};

/**
 * A notification (`title` = label) with deliveries (`reason` = label) and their attempts (`error` = label). Rows
 * labelled `parent` are there for another table's fixture, and not counted in their own.
 */
const notification = async (
  db: pg.Pool,
  tag: string,
  userId: string,
  n: { label: string; daysAgo: number },
  deliveries: {
    label: string;
    daysAgo: number;
    status: string;
    attempts?: { label: string; daysAgo: number }[];
  }[] = [],
) => {
  const id = uuidv7();
  await db.query(
    `INSERT INTO notifications (id, tenant_id, user_id, kind, category, severity, title, body, dedup_key, created_at)
     VALUES ($1, $2, $3, 'test', 'stock', 'info', $4, 'b', 'd', now() - make_interval(days => $5))`,
    [id, `t-${tag}`, userId, `${tag}:${n.label}`, n.daysAgo],
  );
  for (const d of deliveries) {
    const deliveryId = uuidv7();
    await db.query(
      `INSERT INTO notification_deliveries (id, notification_id, tenant_id, user_id, channel, status, reason, created_at)
       VALUES ($1, $2, $3, $4, 'email', $5, $6, now() - make_interval(days => $7))`,
      [deliveryId, id, `t-${tag}`, userId, d.status, `${tag}:${d.label}`, d.daysAgo],
    );
    for (const a of d.attempts ?? [])
      await db.query(
        `INSERT INTO delivery_attempts (delivery_id, outcome, error, at)
         VALUES ($1, 'sent', $2, now() - make_interval(days => $3))`,
        [deliveryId, `${tag}:${a.label}`, a.daysAgo],
      );
  }
};

/** One per registered table: a newly registered table fails the suite until it has its fixture here. */
const fixtures: Record<string, Fixture> = {
  idempotency_keys: {
    async seed(db, tag) {
      for (const [label, hours] of [
        ['gone', 169],
        ['kept', 167],
      ] as const)
        await db.query(
          `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, created_at)
           VALUES ($1, 'user:x', $2, 'h', now() - make_interval(hours => $3))`,
          [`t-${tag}`, `${tag}:${label}`, hours],
        );
      return ['gone', 'kept'];
    },
    left: (db, tag) => labels(db, `SELECT key AS label FROM idempotency_keys WHERE key LIKE $1`, tag),
  },
  event_feed: {
    async seed(db, tag) {
      // CATCH_UP_RETENTION_HOURS is 72.
      for (const [label, hours] of [
        ['gone', 73],
        ['kept', 71],
      ] as const)
        await db.query(
          `INSERT INTO event_feed (tenant_id, event_id, stored_at) VALUES ($1, $2, now() - make_interval(hours => $3))`,
          [`${tag}:${label}`, uuidv7(), hours],
        );
      return ['gone', 'kept'];
    },
    left: (db, tag) => labels(db, `SELECT tenant_id AS label FROM event_feed WHERE tenant_id LIKE $1`, tag),
  },
  listener_receipts: {
    async seed(db, tag) {
      // A receipt whose event is still in the store keeps a replay from applying it twice, however old.
      const stored = uuidv7();
      await db.query(
        `INSERT INTO event_store (id, tenant_id, name, version, occurred_at, recorded_at, source, actor,
                                  correlation_id, aggregate_type, aggregate_id, stream_position, payload)
         VALUES ($1, $2, 'test.kept', 1, now(), now(), 'test', '{}', $1, 'test', $3, 1, '{}')`,
        [stored, `t-${tag}`, stored],
      );
      for (const [label, days, eventId] of [
        ['gone', 91, uuidv7()],
        ['kept-event-stored', 91, stored],
        ['kept-young', 89, uuidv7()],
      ] as const)
        await db.query(
          `INSERT INTO listener_receipts (listener, event_id, tenant_id, handled_at)
           VALUES ($1, $2, $3, now() - make_interval(days => $4))`,
          [`${tag}:${label}`, eventId, `t-${tag}`, days],
        );
      return ['gone', 'kept-event-stored', 'kept-young'];
    },
    left: (db, tag) => labels(db, `SELECT listener AS label FROM listener_receipts WHERE listener LIKE $1`, tag),
  },
  dead_letters: {
    async seed(db, tag) {
      const rows = [
        ['gone-resolved', 'resolved', 91],
        ['gone-discarded', 'discarded', 91],
        ['kept-open', 'open', 400],
        ['kept-retried', 'retried', 400],
        ['kept-resolved-young', 'resolved', 89],
      ] as const;
      for (const [label, status, days] of rows)
        await db.query(
          `INSERT INTO dead_letters (tenant_id, queue, job_name, job_id, payload, error_message, fingerprint, attempts,
                                     first_failed_at, last_failed_at, status, status_at)
           VALUES ($1, 'events', 'test', $2, '{}', 'boom', 'f', 1, now() - make_interval(days => $3),
                   now() - make_interval(days => $3), $4, CASE WHEN $4 = 'open' THEN NULL ELSE now() - make_interval(days => $3) END)`,
          [`t-${tag}`, `${tag}:${label}`, days, status],
        );
      return rows.map(([label]) => label);
    },
    left: (db, tag) => labels(db, `SELECT job_id AS label FROM dead_letters WHERE job_id LIKE $1`, tag),
  },
  refresh_tokens: {
    async seed(db, tag) {
      const user = await newUser(db, `${tag}-rt`);
      for (const [label, expiresIn, revoked] of [
        ['gone', '-1 minute', false],
        ['kept', '1 day', false],
        ['kept-revoked', '1 day', true],
      ] as const)
        await db.query(
          `INSERT INTO refresh_tokens (id, user_id, token_hash, expires_at, revoked_at)
           VALUES ($1, $2, $3, now() + $4::interval, CASE WHEN $5 THEN now() END)`,
          [uuidv7(), user, `${tag}:${label}`, expiresIn, revoked],
        );
      return ['gone', 'kept', 'kept-revoked'];
    },
    left: (db, tag) => labels(db, `SELECT token_hash AS label FROM refresh_tokens WHERE token_hash LIKE $1`, tag),
  },
  set_password_codes: {
    async seed(db, tag) {
      const user = await newUser(db, `${tag}-spc`);
      for (const [label, expiresIn] of [
        ['gone', '-1 minute'],
        ['kept', '1 hour'],
      ] as const)
        await db.query(
          `INSERT INTO set_password_codes (code_hash, user_id, expires_at) VALUES ($1, $2, now() + $3::interval)`,
          [`${tag}:${label}`, user, expiresIn],
        );
      return ['gone', 'kept'];
    },
    left: (db, tag) => labels(db, `SELECT code_hash AS label FROM set_password_codes WHERE code_hash LIKE $1`, tag),
  },
  login_failures: {
    async seed(db, tag) {
      const rows = [
        ['gone', '25 hours', null],
        ['gone-lock-ended', '25 hours', '-24 hours'],
        ['kept-locked', '25 hours', '1 hour'],
        ['kept-recent', '23 hours', null],
      ] as const;
      for (const [label, ago, lockedUntil] of rows)
        await db.query(
          `INSERT INTO login_failures (email, failures, locked_until, updated_at)
           VALUES ($1, 3, now() + $3::interval, now() - $2::interval)`,
          [`${tag}:${label}`, ago, lockedUntil],
        );
      return rows.map(([label]) => label);
    },
    left: (db, tag) => labels(db, `SELECT email AS label FROM login_failures WHERE email LIKE $1`, tag),
  },
  rate_limit_windows: {
    async seed(db, tag) {
      const rows = [
        ['gone', '61 minutes', null],
        ['gone-block-ended', '3 hours', '61 minutes'],
        ['kept-blocked', '3 hours', '59 minutes'],
        ['kept-recent', '59 minutes', null],
      ] as const;
      for (const [label, resetAgo, blockEndedAgo] of rows)
        await db.query(
          `INSERT INTO rate_limit_windows (key, hits, resets_at, blocked_until)
           VALUES ($1, 1, now() - $2::interval, now() - $3::interval)`,
          [`${tag}:${label}`, resetAgo, blockEndedAgo],
        );
      return rows.map(([label]) => label);
    },
    left: (db, tag) => labels(db, `SELECT key AS label FROM rate_limit_windows WHERE key LIKE $1`, tag),
  },
  socket_io_attachments: {
    async seed(db, tag) {
      for (const [label, ago] of [
        ['gone', '61 minutes'],
        ['kept', '59 minutes'],
      ] as const)
        await db.query(
          `INSERT INTO socket_io_attachments (payload, created_at) VALUES (convert_to($1, 'UTF8'), now() - $2::interval)`,
          [`${tag}:${label}`, ago],
        );
      return ['gone', 'kept'];
    },
    left: (db, tag) =>
      labels(
        db,
        `SELECT convert_from(payload, 'UTF8') AS label FROM socket_io_attachments WHERE convert_from(payload, 'UTF8') LIKE $1`,
        tag,
      ),
  },
  delivery_attempts: {
    async seed(db, tag) {
      const user = await newUser(db, `${tag}-da`);
      await notification(db, tag, user, { label: 'parent', daysAgo: 1 }, [
        {
          label: 'parent',
          daysAgo: 1,
          status: 'sent',
          attempts: [
            { label: 'gone', daysAgo: 91 },
            { label: 'kept', daysAgo: 89 },
          ],
        },
      ]);
      return ['gone', 'kept'];
    },
    left: (db, tag) =>
      labels(db, `SELECT error AS label FROM delivery_attempts WHERE error LIKE $1 AND error NOT LIKE '%:parent'`, tag),
  },
  notification_deliveries: {
    async seed(db, tag) {
      const user = await newUser(db, `${tag}-nd`);
      await notification(db, tag, user, { label: 'parent', daysAgo: 1 }, [
        { label: 'gone-sent', daysAgo: 91, status: 'sent' },
        { label: 'gone-suppressed', daysAgo: 91, status: 'suppressed' },
        { label: 'gone-skipped', daysAgo: 91, status: 'skipped' },
        { label: 'kept-queued', daysAgo: 91, status: 'queued' },
        { label: 'kept-failed', daysAgo: 91, status: 'failed' },
        { label: 'kept-young', daysAgo: 89, status: 'sent' },
        { label: 'kept-attempt-young', daysAgo: 91, status: 'sent', attempts: [{ label: 'parent', daysAgo: 89 }] },
      ]);
      return [
        'gone-sent',
        'gone-suppressed',
        'gone-skipped',
        'kept-queued',
        'kept-failed',
        'kept-young',
        'kept-attempt-young',
      ];
    },
    left: (db, tag) =>
      labels(
        db,
        `SELECT reason AS label FROM notification_deliveries WHERE reason LIKE $1 AND reason NOT LIKE '%:parent'`,
        tag,
      ),
  },
  notifications: {
    async seed(db, tag) {
      const user = await newUser(db, `${tag}-n`);
      await notification(db, tag, user, { label: 'gone', daysAgo: 91 });
      // Its delivery and attempt go in the same run, children first.
      await notification(db, tag, user, { label: 'gone-with-delivery', daysAgo: 91 }, [
        { label: 'parent', daysAgo: 91, status: 'sent', attempts: [{ label: 'parent', daysAgo: 91 }] },
      ]);
      await notification(db, tag, user, { label: 'kept-young', daysAgo: 89 });
      await notification(db, tag, user, { label: 'kept-queued', daysAgo: 91 }, [
        { label: 'parent', daysAgo: 91, status: 'queued' },
      ]);
      return ['gone', 'gone-with-delivery', 'kept-queued', 'kept-young'];
    },
    left: (db, tag) =>
      labels(db, `SELECT title AS label FROM notifications WHERE title LIKE $1 AND title NOT LIKE '%:parent'`, tag),
  },
  notification_dedup: {
    async seed(db, tag) {
      for (const [label, seconds] of [
        ['gone', 3700],
        ['kept', 3500],
      ] as const)
        await db.query(
          `INSERT INTO notification_dedup (user_id, channel, dedup_key, last_sent_at)
           VALUES ($1, 'email', $2, now() - make_interval(secs => $3))`,
          [randomUUID(), `${tag}:${label}`, seconds],
        );
      return ['gone', 'kept'];
    },
    left: (db, tag) => labels(db, `SELECT dedup_key AS label FROM notification_dedup WHERE dedup_key LIKE $1`, tag),
  },
  sms_budget: {
    async seed(db, tag) {
      for (const [label, days] of [
        ['gone', 91],
        ['kept', 89],
      ] as const)
        await db.query(`INSERT INTO sms_budget (tenant_id, day, sent) VALUES ($1, current_date - $2::int, 3)`, [
          `${tag}:${label}`,
          days,
        ]);
      return ['gone', 'kept'];
    },
    left: (db, tag) => labels(db, `SELECT tenant_id AS label FROM sms_budget WHERE tenant_id LIKE $1`, tag),
  },
};

describe(TablePruner.name, () => {
  let app: INestApplicationContext;
  let pruner: TablePruner;
  let db: pg.Pool;
  const prune = (options: Partial<Parameters<TablePruner['prune']>[0]> = {}) =>
    pruner.prune({ actor: { type: 'user', id: 'cli:test' }, ...options });
  const rowsOf = (report: PruneReport, table: string) => report.tables.find((t) => t.table === table)!;

  beforeAll(async () => {
    db = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 4 });
    app = await NestFactory.createApplicationContext(PrunerModule.forRoot(settings()), { logger: false });
    pruner = app.get(TablePruner);
  });

  afterAll(async () => {
    await app?.close();
    await db?.end();
  });

  it('has a fixture for every registered table', () => {
    expect(Object.keys(fixtures).sort()).toEqual([...tableLifetimes().keys()].sort());
  });

  it('deletes the rows of every registered table that outlived their lifetime and keeps the others', async () => {
    const tag = randomUUID().slice(0, 8);
    const seeded: Record<string, string[]> = {};
    for (const [table, f] of Object.entries(fixtures)) seeded[table] = await f.seed(db, tag);

    const report = await prune();

    expect(report.failed).toEqual([]);
    const left: Record<string, string[]> = {};
    const expected: Record<string, string[]> = {};
    for (const [table, f] of Object.entries(fixtures)) {
      left[table] = await f.left(db, tag);
      expected[table] = seeded[table].filter((label) => label.startsWith('kept')).sort();
      expect(rowsOf(report, table).rows, table).toBeGreaterThanOrEqual(seeded[table].length - expected[table].length);
    }
    expect(left).toEqual(expected);
    // Audited in the operating tenant's log, with the counts.
    const { rows: audit } = await db.query(
      `SELECT actor_id, details FROM audit_log WHERE tenant_id = $1 AND action = 'tables.pruned' ORDER BY id DESC LIMIT 1`,
      [opsTenant],
    );
    expect(audit[0]).toMatchObject({
      actor_id: 'cli:test',
      details: { rows: { idempotency_keys: expect.any(Number) } },
    });
  });

  it('never prunes an open or retried dead letter, however old', async () => {
    const tag = randomUUID().slice(0, 8);
    await fixtures.dead_letters.seed(db, tag);
    await db.query(`UPDATE dead_letters SET last_failed_at = now() - interval '10 years' WHERE job_id LIKE $1`, [
      `${tag}:kept-%`,
    ]);
    await prune();
    expect(await fixtures.dead_letters.left(db, tag)).toEqual(['kept-open', 'kept-resolved-young', 'kept-retried']);
  });

  it('counts in a dry run and deletes nothing', async () => {
    await prune();
    const tag = randomUUID().slice(0, 8);
    await fixtures.idempotency_keys.seed(db, tag);
    const report = await prune({ dryRun: true });
    expect(rowsOf(report, 'idempotency_keys')).toMatchObject({ rows: 1, batches: 0 });
    expect(await fixtures.idempotency_keys.left(db, tag)).toEqual(['gone', 'kept']);
  });

  it('prunes a large table in batches, each committed on its own', async () => {
    await prune();
    const tag = randomUUID().slice(0, 8);
    await db.query(
      `INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, created_at)
       SELECT $1, 'user:x', $1 || ':' || g, 'h', now() - interval '200 hours' FROM generate_series(1, 5000) g`,
      [`t-${tag}`],
    );
    const remaining: number[] = [];
    const report = await prune({
      batchRows: 1000,
      // Seen from another connection after each batch: what the batch deleted is gone for everyone already.
      onProgress: async (table) => {
        if (table !== 'idempotency_keys') return;
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE tenant_id = $1`, [
          `t-${tag}`,
        ]);
        remaining.push(rows[0].n);
      },
    });
    expect(remaining).toEqual([4000, 3000, 2000, 1000, 0, 0]);
    expect(rowsOf(report, 'idempotency_keys')).toMatchObject({ rows: 5000, batches: 6 });
  });

  it('never waits for a row someone holds: it is left for the next run', async () => {
    await prune();
    const tag = randomUUID().slice(0, 8);
    for (const label of ['gone-1', 'gone-2', 'held'])
      await db.query(
        `INSERT INTO notification_dedup (user_id, channel, dedup_key, last_sent_at)
         VALUES ($1, 'sms', $2, now() - interval '2 hours')`,
        [randomUUID(), `${tag}:${label}`],
      );
    const holder = await db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM notification_dedup WHERE dedup_key = $1 FOR UPDATE`, [`${tag}:held`]);
      const started = Date.now();
      const report = await prune();
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(report.failed).toEqual([]);
      expect(await fixtures.notification_dedup.left(db, tag)).toEqual(['held']);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    await prune();
    expect(await fixtures.notification_dedup.left(db, tag)).toEqual([]);
  });

  it('gives up quickly on a table someone locked whole, and still prunes the others', async () => {
    const tag = randomUUID().slice(0, 8);
    await fixtures.idempotency_keys.seed(db, tag);
    await fixtures.sms_budget.seed(db, tag);
    const holder = await db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE sms_budget IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const report = await prune();
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(report.failed).toEqual(['sms_budget']);
      expect(rowsOf(report, 'sms_budget').error).toMatch(/lock timeout/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await fixtures.idempotency_keys.left(db, tag)).toEqual(['kept']);
    expect(await fixtures.sms_budget.left(db, tag)).toEqual(['gone', 'kept']);
  });

  it('gives every table in the database a lifetime or a stated reason to have none', async () => {
    const { rows } = await db.query(
      `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p')
         AND NOT c.relispartition
         AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         AND n.nspname NOT LIKE 'pg\\_%'
         -- Tables the suites make for their own test listeners (e.g. test_order_projection) are not the product's.
         AND c.relname NOT LIKE 'test\\_%'`,
    );
    const tables = rows.map((r) => (r.schema === 'public' ? r.name : `${r.schema}.${r.name}`) as string);
    const covered = (t: string) =>
      tableLifetimes().has(t) || exemptTables().has(t) || exemptTables().has(`${t.split('.')[0]}.*`);
    expect(tables.filter((t) => !covered(t))).toEqual([]);
    // And no declaration names a table that does not exist, or both prunes and exempts one.
    const declared = [...tableLifetimes().keys(), ...exemptTables().keys()].filter((t) => !t.endsWith('.*'));
    expect(declared.filter((t) => !tables.includes(t))).toEqual([]);
    expect([...tableLifetimes().keys()].filter((t) => exemptTables().has(t))).toEqual([]);
  });

  it('prunes by hand on the command line, with a dry run first', async () => {
    const tag = randomUUID().slice(0, 8);
    await fixtures.notification_dedup.seed(db, tag);
    const wms = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'), ...args], {
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: testEnv.databaseUrl,
          REDIS_URL: testEnv.redisUrl,
          LOG_LEVEL: 'silent',
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const dry = wms('--json', 'tables:prune', '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout) as PruneReport;
    expect(planned.tables.map((t) => t.table).sort()).toEqual(Object.keys(fixtures).sort());
    expect(planned.tables.find((t) => t.table === 'notification_dedup')!.rows).toBeGreaterThanOrEqual(1);
    expect(await fixtures.notification_dedup.left(db, tag)).toEqual(['gone', 'kept']);

    const run = wms('tables:prune', '--batch-size', '500');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/notification_dedup\s+\d+ deleted {2}\(NOTIFY_DEDUP_WINDOW_S/);
    expect(await fixtures.notification_dedup.left(db, tag)).toEqual(['kept']);
  });
});

describe('the prune-tables job', () => {
  it('runs on its schedule once, however many workers start it at the same moment', async () => {
    const db = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
    const tag = randomUUID().slice(0, 8);
    await fixtures.idempotency_keys.seed(db, tag);
    const config = settings();
    const workers = await Promise.all(
      [1, 2].map(async () => {
        const w = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: false });
        await w.init();
        return w;
      }),
    );
    try {
      await waitFor(
        'the aged key to be pruned',
        async () => (await fixtures.idempotency_keys.left(db, tag)).length === 1,
      );
      const queue = workers[0].get<Queue>(getQueueToken(MAINTENANCE_QUEUE), { strict: false });
      // The queue also runs the other maintenance jobs: count this one's.
      const prunes = async (state: 'completed' | 'active' | 'waiting' | 'delayed' | 'failed') =>
        (await queue.getJobs([state])).filter((j) => j.name === PRUNE_TABLES_JOB).length;
      await waitFor('the run to complete', async () => (await prunes('completed')) >= 1);
      expect({
        completed: await prunes('completed'),
        active: await prunes('active'),
        waiting: await prunes('waiting'),
        // The next run, an hour from the first.
        delayed: await prunes('delayed'),
        failed: await prunes('failed'),
      }).toEqual({ completed: 1, active: 0, waiting: 0, delayed: 1, failed: 0 });
    } finally {
      for (const w of workers) await w.close();
      await db.end();
    }
  });
});

describe('IDEMPOTENCY_TTL_HOURS', () => {
  const base = { DATABASE_URL: 'postgres://x/y', AUTH_SECRET: 'x'.repeat(32) };

  it('may not be shorter than the offline acceptance window, so a late resend always finds its key', () => {
    expect(() => loadWorkerConfig({ ...base, IDEMPOTENCY_TTL_HOURS: '167' })).toThrow(
      /IDEMPOTENCY_TTL_HOURS must be at least OFFLINE_ACCEPT_DAYS × 24 = 168 hours/,
    );
    expect(() => loadApiConfig({ ...base, OFFLINE_ACCEPT_DAYS: '8' })).toThrow(ConfigError);
    expect(() => loadApiConfig({ ...base, OFFLINE_ACCEPT_DAYS: '8' })).toThrow(/OFFLINE_ACCEPT_DAYS \(8\)/);
    expect(loadWorkerConfig({ ...base, OFFLINE_ACCEPT_DAYS: '8', IDEMPOTENCY_TTL_HOURS: '192' })).toMatchObject({
      OFFLINE_ACCEPT_DAYS: 8,
      IDEMPOTENCY_TTL_HOURS: 192,
    });
    expect(loadWorkerConfig(base)).toMatchObject({ OFFLINE_ACCEPT_DAYS: 7, IDEMPOTENCY_TTL_HOURS: 168 });
  });

  it('stops the worker at boot, naming both variables', () => {
    const result = spawnSync(process.execPath, [path.join(testEnv.root, 'dist/apps/worker/src/main.js')], {
      env: { PATH: process.env.PATH, DATABASE_URL: testEnv.databaseUrl, IDEMPOTENCY_TTL_HOURS: '24' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/IDEMPOTENCY_TTL_HOURS must be at least OFFLINE_ACCEPT_DAYS/);
  });
});
