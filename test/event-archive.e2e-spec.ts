import { getQueueToken } from '@nestjs/bullmq';
import {
  ARCHIVE_EVENT_PARTITIONS_JOB,
  ArchiveRestore,
  type ArchiveManifest,
  DAY_MS,
  dayStart,
  ensureEventPartitions,
  EventArchive,
  type EventEnvelope,
  EventPartitions,
  EventStoreRepository,
  EVENTS_QUEUE,
  MAINTENANCE_QUEUE,
  PROCESS_EVENT_JOB,
  ReplayService,
  uuidV7Floor,
} from '@wms/events';
import type { Queue } from 'bullmq';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { startSystem, type TestSystem, trackingEnvelopeAt } from './support/system.js';
import { waitFor } from './support/wait-for.js';

const RETENTION_DAYS = 30;
const TODAY = dayStart(Date.now());
/** The UTC midnight `n` days before today's. */
const daysAgo = (n: number) => TODAY - n * DAY_MS;
const partitionOf = (day: number) => `event_store_p${new Date(day).toISOString().slice(0, 10).replace(/-/g, '')}`;
const actor = { type: 'user' as const, id: 'test-admin' };

describe(EventArchive.name, () => {
  let sys: TestSystem;
  let archive: EventArchive;
  let restore: ArchiveRestore;
  let partitions: EventPartitions;
  let store: EventStoreRepository;
  let dir: string;
  let other: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wms-archive-'));
    sys = await startSystem({ env: { EVENT_RETENTION_DAYS: String(RETENTION_DAYS), ARCHIVE_DIR: dir } });
    archive = sys.worker!.get(EventArchive);
    restore = sys.worker!.get(ArchiveRestore);
    partitions = sys.worker!.get(EventPartitions);
    store = sys.worker!.get(EventStoreRepository);
    other = (await sys.newTenant()).tenant;
    // The scheduler's first run happens at boot; the next is an hour away, so the tests run the archive themselves.
    const queue = sys.worker!.get<Queue>(getQueueToken(MAINTENANCE_QUEUE), { strict: false });
    await waitFor('the first scheduled archive run to complete', async () =>
      (await queue.getJobs(['completed'])).some((j) => j.name === ARCHIVE_EVENT_PARTITIONS_JOB),
    );
  });
  afterEach(async () => {
    // Whatever a test left past the retention leaves now, so the next test starts with none.
    await restore.clear(actor);
    const left = await archive.run();
    expect(left.partitions.filter((p) => p.outcome !== 'archived')).toEqual([]);
  });
  afterAll(async () => {
    await sys?.db.query(`DROP TABLE IF EXISTS ${partitionOf(daysAgo(30))}`);
    await sys?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A partition for a day in the past, made by the store's own function (the store never makes one past retention). */
  const makeDay = (day: number) => sys.worker!.get(DataSource).transaction((m) => ensureEventPartitions(m, [day]));

  /** `n` events of `tenant` accepted during `day`, inserted as the worker would have stored them. */
  const fill = async (
    day: number,
    n: number,
    tenant = sys.tenant,
    label = `e${Math.random().toString(36).slice(2, 8)}`,
  ) => {
    const ids = Array.from({ length: n }, (_, i) => uuidv7({ msecs: day + Math.floor((i * (DAY_MS - 1)) / n) }));
    await sys.db.query(
      `INSERT INTO event_store (id, tenant_id, name, version, occurred_at, recorded_at, source, actor, warehouse_id,
                                correlation_id, aggregate_type, aggregate_id, stream_position, payload)
       SELECT id, $2, 'carrier.tracking_updated', 1, at, at, 'test', '{"type":"system","id":"test"}', 'WH1',
              gen_random_uuid(), 'order', 'WH1/SO-' || $3 || '-' || g, 1,
              jsonb_build_object('n', g, 'note', 'Ünïcødé ✓ "quoted" \\ line' || chr(10) || 'two', 'label', $3::text)
       FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, g),
            LATERAL (SELECT to_timestamp(('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint / 1000.0) AS at) t`,
      [ids, tenant, label],
    );
    return ids;
  };

  /** Every column of the events in [from, to) of a table, in id order: equal fingerprints, equal events. */
  const fingerprint = async (table: string, from: number, to: number) =>
    (
      await sys.db.query(
        `SELECT count(*)::int AS n, md5(string_agg(to_jsonb(e)::text, ',' ORDER BY id)) AS sum
         FROM ${table} e WHERE id >= $1 AND id < $2`,
        [uuidV7Floor(from), uuidV7Floor(to)],
      )
    ).rows[0] as { n: number; sum: string | null };

  const attached = async () => (await partitions.list()).map((p) => p.name);
  const manifestOf = async (partition: string) =>
    JSON.parse(await readFile(path.join(dir, partition, 'manifest.json'), 'utf8')) as ArchiveManifest;
  const audit = async (tenant: string, action: string) =>
    (
      await sys.db.query(
        `SELECT target, actor_id AS actor, details FROM audit_log WHERE tenant_id = $1 AND action = $2 ORDER BY id`,
        [tenant, action],
      )
    ).rows as { target: string; actor: string; details: Record<string, unknown> }[];
  const outcomeOf = (run: Awaited<ReturnType<EventArchive['run']>>, partition: string) =>
    run.partitions.find((p) => p.partition === partition);
  const filesIn = async (partition: string) => (await readdir(path.join(dir, partition)).catch(() => [])).sort();

  it('archives each whole partition past the retention to verified files, drops it, audits it; restore gives back exactly its events', async () => {
    const [d40, d35, d31, d30] = [daysAgo(40), daysAgo(35), daysAgo(31), daysAgo(30)];
    for (const day of [d40, d35, d31, d30]) await makeDay(day);
    await fill(d40, 300);
    await fill(d40, 200, other);
    await fill(d35, 100);
    await fill(d31, 50, other);
    await fill(d30, 20);
    const before = await fingerprint('event_store', d40, d30);
    expect(before.n).toBe(650);
    const sums = { [partitionOf(d40)]: await partitions.content(partitionOf(d40), true) };

    const run = await archive.run({ actor });
    // The day that ends at the retention's edge goes; the one after it stays.
    expect(run.cutoff).toBe(new Date(daysAgo(RETENTION_DAYS)).toISOString());
    expect(run.partitions.map((p) => [p.partition, p.outcome, p.events])).toEqual([
      [partitionOf(d40), 'archived', 500],
      [partitionOf(d35), 'archived', 100],
      [partitionOf(d31), 'archived', 50],
    ]);
    const left = await attached();
    for (const day of [d40, d35, d31]) expect(left).not.toContain(partitionOf(day));
    expect(left).toContain(partitionOf(d30));
    expect((await fingerprint('event_store', d40, d30)).n).toBe(0);
    expect((await fingerprint('event_store', d30, d30 + DAY_MS)).n).toBe(20);

    const manifest = await manifestOf(partitionOf(d40));
    expect(manifest).toMatchObject({
      format: 'wms-event-archive/1',
      partition: partitionOf(d40),
      bounds: { from: uuidV7Floor(d40), to: uuidV7Floor(d40 + DAY_MS) },
      events: 500,
      tenants: { [sys.tenant]: 300, [other]: 200 },
      firstId: sums[partitionOf(d40)].firstId,
      lastId: sums[partitionOf(d40)].lastId,
      // The content checksum Postgres computed over the partition is the one the files give.
      checksum: sums[partitionOf(d40)].checksum,
    });
    expect(manifest.files).toHaveLength(1);
    const bytes = await readFile(path.join(dir, partitionOf(d40), manifest.files[0].name));
    expect(manifest.files[0].sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(gunzipSync(bytes).toString('utf8').trimEnd().split('\n')).toHaveLength(500);
    expect(await filesIn(partitionOf(d40))).toEqual(['events-0000.ndjson.gz', 'manifest.json']);

    // Audited once per partition in the operating tenant's log, and in each tenant's own with its share.
    const ops = await audit(sys.tenant, 'event_store.partition_archived');
    expect(ops.map((a) => [a.target, a.actor, a.details.events])).toEqual([
      [partitionOf(d40), 'test-admin', 500],
      [partitionOf(d35), 'test-admin', 100],
      [partitionOf(d31), 'test-admin', 50],
    ]);
    expect((await audit(other, 'event_store.partition_archived')).map((a) => [a.target, a.details.events])).toEqual([
      [partitionOf(d40), 200],
      [partitionOf(d31), 50],
    ]);

    const range = { from: new Date(d40).toISOString(), to: new Date(d30 - 1).toISOString() };
    const restored = await restore.restore(actor, range);
    expect(restored).toMatchObject({
      files: 3,
      events: 650,
      restored: 650,
      tenants: { [sys.tenant]: 400, [other]: 250 },
    });
    expect(await fingerprint('event_archive_restored.events', d40, d30)).toEqual(before);
    // Idempotent: restoring again adds nothing.
    expect(await restore.restore(actor, range)).toMatchObject({ events: 650, restored: 0 });
    expect((await fingerprint('event_archive_restored.events', d40, d30)).n).toBe(650);
    // A part of a day: only its events.
    await restore.clear(actor);
    const half = await restore.restore(actor, {
      from: new Date(d40 + DAY_MS / 2).toISOString(),
      to: new Date(d35 + DAY_MS / 2).toISOString(),
    });
    expect(half.restored).toBe((await fingerprint('event_archive_restored.events', d40, d30)).n);
    expect(half.restored).toBeGreaterThan(250);
    expect(half.restored).toBeLessThan(500);
    expect((await fingerprint('event_archive_restored.events', d40, d40 + DAY_MS / 2)).n).toBe(0);
    expect((await audit(sys.tenant, 'event_archive.restored')).map((a) => a.details.events)).toEqual([
      650,
      650,
      half.restored,
    ]);
    await sys.db.query(`DROP TABLE ${partitionOf(d30)}`);
  });

  it('restores into a table that replay, catch-up and search never read, that nobody else can write, and drops it', async () => {
    const day = daysAgo(45);
    const before = (await sys.get('/events/stream?after=now')).body.cursor;
    await makeDay(day);
    const ids = await fill(day, 40, sys.tenant, 'RESTORED');
    await archive.run();
    const range = { from: new Date(day).toISOString(), to: new Date(day + DAY_MS - 1).toISOString() };
    expect(await restore.restore(actor, range)).toMatchObject({ restored: 40 });

    const found = await sys.get(`/events?text=RESTORED&limit=200`);
    expect(found.status).toBe(200);
    expect(found.body.items).toEqual([]);
    const caughtUp = await sys.get(`/events/stream?after=${before}&limit=1000`);
    expect(caughtUp.status).toBe(200);
    expect(caughtUp.body.items.map((e: EventEnvelope) => e.id).filter((id: string) => ids.includes(id))).toEqual([]);
    await expect(sys.get(`/events/${ids[0]}`)).resolves.toMatchObject({ status: 404 });
    const replayed = await sys.worker!.get(ReplayService).replay(actor, sys.tenant, range);
    expect(replayed.events).toBe(0);

    for (const write of [
      `UPDATE event_archive_restored.events SET name = 'x'`,
      `DELETE FROM event_archive_restored.events`,
      `TRUNCATE event_archive_restored.events`,
    ])
      await expect(sys.db.query(write), write).rejects.toThrow(/read-only/);
    await expect(
      sys.db.query(
        `INSERT INTO event_archive_restored.events
         SELECT (left(id::text, 35) || '0')::uuid, tenant_id, name, version, occurred_at, recorded_at, stored_at, source,
                actor, warehouse_id, correlation_id, causation_id, aggregate_type, aggregate_id, stream_position, payload
         FROM event_archive_restored.events LIMIT 1`,
      ),
    ).rejects.toThrow(/read-only/);
    expect((await fingerprint('event_archive_restored.events', day, day + DAY_MS)).n).toBe(40);

    expect(await restore.clear(actor)).toEqual({ [sys.tenant]: 40 });
    expect((await fingerprint('event_archive_restored.events', day, day + DAY_MS)).n).toBe(0);
    expect((await audit(sys.tenant, 'event_archive.cleared')).at(-1)?.details).toMatchObject({ events: 40 });
  });

  it('restores nothing from a damaged archive file, and refuses a bad range naming the field', async () => {
    const day = daysAgo(46);
    await makeDay(day);
    await fill(day, 30);
    await archive.run();
    const range = { from: new Date(day).toISOString(), to: new Date(day + DAY_MS - 1).toISOString() };
    const file = path.join(dir, partitionOf(day), 'events-0000.ndjson.gz');
    const good = await readFile(file);
    await appendFile(file, 'x');
    await expect(restore.restore(actor, range)).rejects.toThrow(/is damaged: its SHA-256 is .*nothing was restored/);
    expect((await fingerprint('event_archive_restored.events', day, day + DAY_MS)).n).toBe(0);
    await writeFile(file, good);

    await expect(restore.restore(actor, { from: range.to, to: range.from })).rejects.toMatchObject({
      code: 'ARCHIVE.RANGE',
      fields: [{ field: 'from', reason: 'is after to' }],
    });
    await expect(restore.restore(actor, { from: '2026-02-30', to: range.to })).rejects.toMatchObject({
      fields: [{ field: 'from' }],
    });
    await expect(restore.restore(actor, { from: range.from, to: '' })).rejects.toMatchObject({
      fields: [{ field: 'to', reason: 'is required' }],
    });
    expect((await fingerprint('event_archive_restored.events', day, day + DAY_MS)).n).toBe(0);
  });

  it('changes nothing on a dry run', async () => {
    const day = daysAgo(47);
    await makeDay(day);
    await fill(day, 25);
    const auditRows = async () => (await sys.db.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n;
    const [partitionsBefore, auditBefore, filesBefore] = [await attached(), await auditRows(), await readdir(dir)];
    const run = await archive.run({ dryRun: true });
    expect(run.dryRun).toBe(true);
    expect(run.partitions).toEqual([{ partition: partitionOf(day), outcome: 'would archive', events: 25 }]);
    expect(await attached()).toEqual(partitionsBefore);
    expect(await auditRows()).toBe(auditBefore);
    expect(await readdir(dir)).toEqual(filesBefore);
    expect((await fingerprint('event_store', day, day + DAY_MS)).n).toBe(25);
  });

  it('never drops a partition whose archive does not read back as it is', async () => {
    const day = daysAgo(48);
    await makeDay(day);
    await fill(day, 200);
    const before = await fingerprint('event_store', day, day + DAY_MS);
    const damages: Record<string, (file: string) => Promise<void>> = {
      truncated: (file) => truncate(file, 300),
      // A whole gzip file, one character of one event changed.
      'one event changed': async (file) => {
        const text = gunzipSync(await readFile(file))
          .toString('utf8')
          .replace('"n": 7,', '"n": 8,');
        await writeFile(file, gzipSync(text));
      },
    };
    for (const [what, damage] of Object.entries(damages)) {
      const run = await archive.run({
        onStage: async (stage, a) => {
          if (stage === 'written') await damage(a.file('events-0000.ndjson.gz'));
        },
      });
      const outcome = outcomeOf(run, partitionOf(day));
      expect(outcome?.outcome, what).toBe('not verified');
      expect(outcome?.reason, what).toMatch(what === 'truncated' ? /does not read back/ : /SHA-256.*checksum/);
      expect(await attached(), what).toContain(partitionOf(day));
      expect(await fingerprint('event_store', day, day + DAY_MS), what).toEqual(before);
      expect(await filesIn(partitionOf(day)), what).not.toContain('manifest.json');
    }
    expect(await audit(sys.tenant, 'event_store.partition_archived')).not.toContainEqual(
      expect.objectContaining({ target: partitionOf(day) }),
    );
    // The maintenance job fails on a partition it cannot archive (retried, then a dead letter) rather than pass it by.
    const blocked = path.join(dir, partitionOf(day));
    await rm(blocked, { recursive: true });
    await writeFile(blocked, 'a file where the partition directory goes');
    try {
      const queue = sys.worker!.get<Queue>(getQueueToken(MAINTENANCE_QUEUE), { strict: false });
      const job = await queue.add(ARCHIVE_EVENT_PARTITIONS_JOB, {}, { attempts: 1 });
      const failed = await waitFor('the job to fail', async () => (await queue.getJob(job.id!))?.failedReason);
      expect(failed).toMatch(new RegExp(`${partitionOf(day)} not archived: E[A-Z]+: .*${partitionOf(day)}`));
      expect(await attached()).toContain(partitionOf(day));
    } finally {
      await rm(blocked);
    }
  });

  it('finishes a run stopped after the files were written, after the manifest, or after the detach', async () => {
    const stops = { verified: daysAgo(50), archived: daysAgo(51), detached: daysAgo(52) } as const;
    const before: Record<string, { n: number; sum: string | null }> = {};
    for (const [stage, day] of Object.entries(stops)) {
      await makeDay(day);
      await fill(day, 120, stage === 'detached' ? other : sys.tenant);
      before[stage] = await fingerprint('event_store', day, day + DAY_MS);
    }
    const run = await archive.run({
      onStage: (stage, a) => {
        const day = (stops as Record<string, number>)[stage];
        if (day !== undefined && a.partition === partitionOf(day)) throw new Error(`stopped after ${stage}`);
      },
    });
    expect(run.partitions.map((p) => [p.partition, p.outcome, p.reason])).toEqual([
      [partitionOf(stops.detached), 'failed', 'stopped after detached'],
      [partitionOf(stops.archived), 'failed', 'stopped after archived'],
      [partitionOf(stops.verified), 'failed', 'stopped after verified'],
    ]);
    // Where each was left: files but no manifest; a manifest, still in the store; out of the store, not dropped.
    expect(await filesIn(partitionOf(stops.verified))).toEqual(['events-0000.ndjson.gz']);
    expect(await filesIn(partitionOf(stops.archived))).toEqual(['events-0000.ndjson.gz', 'manifest.json']);
    const left = await partitions.retired();
    expect(left.partitions.map((p) => [p.name, p.state])).toEqual([
      [partitionOf(stops.archived), 'attached'],
      [partitionOf(stops.verified), 'attached'],
      [partitionOf(stops.detached), 'detached'],
    ]);
    expect((await fingerprint('event_store', stops.archived, stops.archived + DAY_MS)).n).toBe(120);
    const archivedAt = (await manifestOf(partitionOf(stops.archived))).archivedAt;

    const next = await archive.run();
    expect(next.partitions.map((p) => [p.partition, p.outcome, p.events])).toEqual([
      [partitionOf(stops.archived), 'archived', 120],
      [partitionOf(stops.verified), 'archived', 120],
      [partitionOf(stops.detached), 'archived', 120],
    ]);
    // The archive that was complete was checked and kept, not written again.
    expect((await manifestOf(partitionOf(stops.archived))).archivedAt).toBe(archivedAt);
    expect((await partitions.retired()).partitions).toEqual([]);
    const range = {
      from: new Date(stops.detached).toISOString(),
      to: new Date(stops.verified + DAY_MS - 1).toISOString(),
    };
    expect(await restore.restore(actor, range)).toMatchObject({ events: 360, restored: 360 });
    for (const [stage, day] of Object.entries(stops))
      expect(await fingerprint('event_archive_restored.events', day, day + DAY_MS), stage).toEqual(before[stage]);
    const archived = (await audit(sys.tenant, 'event_store.partition_archived')).map((a) => a.target);
    for (const day of Object.values(stops)) expect(archived.filter((t) => t === partitionOf(day))).toHaveLength(1);
  });

  it('archives again from the detached table when an event reached the partition after its archive was verified', async () => {
    const day = daysAgo(53);
    await makeDay(day);
    await fill(day, 60);
    let late: string[] = [];
    const run = await archive.run({
      onStage: async (stage) => {
        if (stage === 'archived' && !late.length) late = await fill(day, 1, other, 'LATE');
      },
    });
    expect(outcomeOf(run, partitionOf(day))).toMatchObject({ outcome: 'archived', events: 61 });
    expect((await manifestOf(partitionOf(day))).tenants).toEqual({ [sys.tenant]: 60, [other]: 1 });
    // The first, complete archive is moved aside, never deleted.
    const aside = (await readdir(dir)).filter((d) => d.startsWith(`${partitionOf(day)}.superseded-`));
    expect(aside).toHaveLength(1);
    expect((await manifestOf(aside[0])).events).toBe(60);
    await restore.restore(actor, { from: new Date(day).toISOString(), to: new Date(day + DAY_MS - 1).toISOString() });
    const { rows } = await sys.db.query(`SELECT id::text FROM event_archive_restored.events WHERE id = $1`, late);
    expect(rows).toEqual([{ id: late[0] }]);
  });

  it('archives each partition once when two runs start at the same moment', async () => {
    const days = [daysAgo(55), daysAgo(56)];
    for (const day of days) {
      await makeDay(day);
      await fill(day, 150);
    }
    // Two processes' services (the worker's and the api's: their own connections), and the scheduled job.
    const queue = sys.worker!.get<Queue>(getQueueToken(MAINTENANCE_QUEUE), { strict: false });
    const [a, b, job] = await Promise.all([
      archive.run(),
      sys.api.get(EventArchive).run(),
      queue.add(ARCHIVE_EVENT_PARTITIONS_JOB, {}),
    ]);
    await waitFor('the scheduled run to end', async () => (await queue.getJob(job.id!))?.finishedOn);
    expect(await (await queue.getJob(job.id!))?.getState()).toBe('completed');
    for (const day of days) {
      const outcomes = [a, b].map((r) => outcomeOf(r, partitionOf(day))?.outcome).filter(Boolean);
      expect(outcomes.filter((o) => o === 'archived').length).toBeLessThanOrEqual(1);
      const entries = (await audit(sys.tenant, 'event_store.partition_archived')).filter(
        (e) => e.target === partitionOf(day),
      );
      expect(entries).toHaveLength(1);
      expect((await manifestOf(partitionOf(day))).events).toBe(150);
    }
    // Whoever held the lock archived them; the others waited for nothing and failed nothing.
    for (const run of [a, b]) expect(run.partitions.filter((p) => p.outcome !== 'archived')).toEqual([]);
  });

  it('refuses an event of an archived day (a dead letter saying why) instead of making the day again', async () => {
    const day = daysAgo(57);
    await makeDay(day);
    await fill(day, 5);
    await archive.run();
    const envelope = (ms: number, order: string) => trackingEnvelopeAt(sys.tenant, ms, order);
    const archived = envelope(day + 3_600_000, 'ARCHIVED-DAY');
    const never = envelope(daysAgo(200), 'NEVER-MADE');
    const today = envelope(Date.now(), 'TODAY');
    const results = await store.appendMany([archived, today, never]);
    expect(results[0]).toMatchObject({
      name: 'UnrecoverableError',
      message: expect.stringContaining('EVENT_RETENTION_DAYS (30)'),
    });
    expect(results[1]).toBe(true);
    expect(results[2]).toBeInstanceOf(Error);
    const names = await attached();
    expect(names).not.toContain(partitionOf(day));
    expect(names).not.toContain(partitionOf(daysAgo(200)));
    expect(
      (await sys.db.query(`SELECT id FROM event_store WHERE id = ANY($1)`, [[archived.id, never.id]])).rows,
    ).toEqual([]);

    // Through the worker: the job is not retried for days, it lands in the dead letters with the reason.
    const events = sys.worker!.get<Queue>(getQueueToken(EVENTS_QUEUE), { strict: false });
    const late = envelope(day + 7_200_000, 'LATE-JOB');
    await events.add(PROCESS_EVENT_JOB, late, { jobId: late.id });
    const dead = await waitFor('the dead letter', async () => {
      const { rows } = await sys.db.query(`SELECT error_message, attempts FROM dead_letters WHERE event_id = $1`, [
        late.id,
      ]);
      return rows[0] as { error_message: string; attempts: number } | undefined;
    });
    expect(dead.error_message).toMatch(
      /more than EVENT_RETENTION_DAYS \(30\) days ago; that day's partition is archived/,
    );
    expect(dead.attempts).toBe(1);
    expect(await attached()).not.toContain(partitionOf(day));
  });

  describe('the partition of the store before partitioning (MINVALUE to its bound)', () => {
    const makeLegacy = async (to: number) => {
      await sys.db.query(
        `CREATE TABLE event_store_legacy (LIKE event_store INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         CREATE UNIQUE INDEX event_store_legacy_stream_position_uq
           ON event_store_legacy (tenant_id, aggregate_type, aggregate_id, stream_position);
         ALTER TABLE event_store ATTACH PARTITION event_store_legacy FOR VALUES FROM (MINVALUE) TO ('${uuidV7Floor(to)}')`,
      );
    };
    afterAll(() => sys.db.query(`DROP TABLE IF EXISTS event_store_legacy`));

    it('stays whole while its newest day is within the retention', async () => {
      await makeLegacy(daysAgo(RETENTION_DAYS - 1));
      await fill(daysAgo(400), 10);
      await fill(daysAgo(RETENTION_DAYS), 10);
      const run = await archive.run();
      expect(outcomeOf(run, 'event_store_legacy')).toBeUndefined();
      expect(await attached()).toContain('event_store_legacy');
      expect((await fingerprint('event_store', daysAgo(401), daysAgo(0))).n).toBeGreaterThanOrEqual(20);
      await sys.db.query(`ALTER TABLE event_store DETACH PARTITION event_store_legacy; DROP TABLE event_store_legacy`);
    });

    it('is archived whole once its bound is past the retention, and restored like any other', async () => {
      await makeLegacy(daysAgo(RETENTION_DAYS + 1));
      await fill(daysAgo(400), 10);
      await fill(daysAgo(RETENTION_DAYS + 2), 15, other);
      const days = [daysAgo(400), daysAgo(RETENTION_DAYS + 2)];
      const before = await Promise.all(days.map((d) => fingerprint('event_store', d, d + DAY_MS)));
      const run = await archive.run();
      expect(outcomeOf(run, 'event_store_legacy')).toMatchObject({ outcome: 'archived', events: 25 });
      expect(await attached()).not.toContain('event_store_legacy');
      expect((await manifestOf('event_store_legacy')).bounds).toEqual({
        from: null,
        to: uuidV7Floor(daysAgo(RETENTION_DAYS + 1)),
      });
      await restore.restore(actor, {
        from: new Date(daysAgo(401)).toISOString(),
        to: new Date(daysAgo(RETENTION_DAYS + 1) - 1).toISOString(),
      });
      const after = await Promise.all(days.map((d) => fingerprint('event_archive_restored.events', d, d + DAY_MS)));
      expect(after).toEqual(before);
      expect(after.map((f) => f.n)).toEqual([10, 15]);
    });
  });

  it('a run killed (SIGKILL) while writing is finished by the next, from the command line', async () => {
    const day = daysAgo(60);
    await makeDay(day);
    await fill(day, 40_000);
    const before = await fingerprint('event_store', day, day + DAY_MS);
    const wms = (...args: string[]) =>
      spawn(process.execPath, [path.join(testEnv.root, 'dist/apps/worker/src/cli/wms.js'), ...args], {
        env: { PATH: process.env.PATH, ...sys.env, LOG_LEVEL: 'silent' },
      });
    const output = (child: ReturnType<typeof wms>) =>
      new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d) => (stdout += d));
        child.stderr!.on('data', (d) => (stderr += d));
        child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
    const dry = await output(wms('events:archive', '--dry-run'));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`${partitionOf(day)}\\s+would archive\\s+40000 event`));

    const first = wms('events:archive');
    const ended = output(first);
    const tmp = path.join(dir, partitionOf(day), 'events-0000.ndjson.gz.tmp');
    await waitFor('the archive to start writing', () => existsSync(tmp), 30_000, 2);
    first.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');
    // Its session (and so its lock) ends once Postgres sees the connection gone.
    const c = await sys.db.connect();
    await waitFor(
      'the killed run to let go of its lock',
      async () => (await c.query(`SELECT pg_try_advisory_lock(hashtext('event_store archive')) AS ok`)).rows[0].ok,
    );
    await c.query(`SELECT pg_advisory_unlock(hashtext('event_store archive'))`);
    c.release();
    expect(await filesIn(partitionOf(day))).not.toContain('manifest.json');
    expect(await fingerprint('event_store', day, day + DAY_MS)).toEqual(before);
    const second = await output(wms('--json', 'events:archive'));
    expect(second.code, second.stderr).toBe(0);
    expect(outcomeOf(JSON.parse(second.stdout), partitionOf(day))).toMatchObject({
      outcome: 'archived',
      events: 40_000,
    });
    expect(await filesIn(partitionOf(day))).toEqual(['events-0000.ndjson.gz', 'manifest.json']);

    const range = ['--from', new Date(day).toISOString(), '--to', new Date(day + DAY_MS - 1).toISOString()];
    const restored = await output(wms('--json', 'events:restore', ...range));
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ events: 40_000, restored: 40_000 });
    expect(await fingerprint('event_archive_restored.events', day, day + DAY_MS)).toEqual(before);
    const dropped = await output(wms('events:restore', '--drop'));
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toMatch(/dropped 40000 restored event/);
  });
});
