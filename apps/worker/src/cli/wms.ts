import 'reflect-metadata';
import { loadWorkerConfig, type WorkerSettings } from '../worker-config.js';
import { EventsConfig } from '@wms/events';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ArchiveRestore,
  ConfigError,
  EventArchive,
  type PartitionOutcome,
  type EventEnvelope,
  DeadLetterAdminService,
  type DeadLetterFilter,
  dateTimeProblem,
  DomainError,
  type EventActor,
  EventsModule,
  ListenerReceiptsRepository,
  EventStoreRepository,
  type Operator,
  ProjectionRebuildService,
  ReplayService,
  TablePruner,
  TenantsService,
} from '@wms/events';
import { NotificationsModule } from '@wms/notifications';
import { WmsDomainModule } from '@wms/wms-domain';
import { Command, InvalidArgumentError, Option } from 'commander';
import os from 'node:os';

/**
 * The admins' command line, artisan-style: `npm run wms -- dead-letters:list`, `dead-letters:retry`,
 * `dead-letters:discard`, `events:replay`, `listeners:rebuild`, `events:tail`, `events:archive`, `events:restore`, `tables:prune`, `tenants:create|suspend|resume|list`. Uses the same services as the api; actions
 * are audited as the operating-system user.
 */
@Module({})
class CliModule {
  static forRoot(config: WorkerSettings): DynamicModule {
    return {
      module: CliModule,
      imports: [EventsModule.forRoot(config), WmsDomainModule, NotificationsModule.forRoot(config)],
    };
  }
}

const actor: EventActor = { type: 'user', id: `cli:${os.userInfo().username}` };
const iso = (value: string) => {
  const problem = dateTimeProblem(value);
  if (problem) throw new InvalidArgumentError(problem);
  return new Date(value).toISOString();
};
const int = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

async function withApp<T>(work: (app: INestApplicationContext, config: WorkerSettings) => Promise<T>): Promise<T> {
  const config = loadWorkerConfig();
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { logger: ['error'] });
  try {
    return await work(app, config);
  } finally {
    await app.close();
  }
}

const filterOptions = (cmd: Command) =>
  cmd
    .option('--status <status>', 'open, retried, discarded or resolved')
    .option('--queue <queue>', 'events, event-listeners, notifications')
    .option('--job <name>', 'job name: a listener, process-event, deliver, …')
    .option('--event <name>', 'event name, e.g. inventory.adjusted')
    .option('--warehouse <code>', 'warehouse code')
    .option('--fingerprint <hex>', 'error fingerprint (see dead-letters:groups)')
    .option('--since <date>', 'failed at or after', iso)
    .option('--until <date>', 'failed before', iso)
    .option('--search <text>', "text in the job's data or its event id: SKU, order number, part of one …")
    .option(
      '--key <key>',
      "a business key of the dead letter's event (SKU, order, ASN, carton, location, lot, tracking)",
    );

const toFilter = (o: Record<string, string | undefined>): DeadLetterFilter => ({
  status: o.status as DeadLetterFilter['status'],
  queue: o.queue,
  jobName: o.job,
  eventName: o.event,
  warehouseId: o.warehouse,
  fingerprint: o.fingerprint,
  from: o.since,
  to: o.until,
  search: o.search,
  key: o.key,
});

const print = (json: boolean, value: unknown, lines: () => string[]) =>
  console.log(json ? JSON.stringify(value, null, 2) : lines().join('\n'));

export function program(): Command {
  const cli = new Command('wms').description('WMS event backbone: admin commands').showHelpAfterError();
  cli.addOption(new Option('--tenant <tenant>', 'tenant to act in').default(process.env.WMS_TENANT ?? 'demo'));
  cli.option('--json', 'machine-readable output');

  filterOptions(cli.command('dead-letters:list').description('list dead letters, newest first'))
    .option('--limit <n>', 'how many', int, 50)
    .action((o) =>
      withApp(async (app) => {
        const items = await app.get(DeadLetterAdminService).list(cli.opts().tenant, toFilter(o), o.limit);
        print(cli.opts().json, items, () =>
          items.length
            ? items.map(
                (d) =>
                  `${d.id}  ${d.status.padEnd(9)} ${d.lastFailedAt}  ${d.queue}/${d.jobName}  ` +
                  `${d.eventName ?? '-'}  ${d.error.slice(0, 80)}`,
              )
            : ['no dead letters match'],
        );
      }),
    );

  filterOptions(
    cli.command('dead-letters:groups').description('open dead letters grouped by error fingerprint'),
  ).action((o) =>
    withApp(async (app) => {
      const groups = await app.get(DeadLetterAdminService).groups(cli.opts().tenant, toFilter(o));
      print(cli.opts().json, groups, () =>
        groups.length
          ? groups.map(
              (g) =>
                `${String(g.count).padStart(5)}  ${g.fingerprint}  ${g.queue}/${g.jobName}  ${g.sampleError.slice(0, 80)}`,
            )
          : ['no open dead letters'],
      );
    }),
  );

  cli
    .command('dead-letters:show <id>')
    .description('one dead letter with its payload, error and history')
    .action((id: string) =>
      withApp(async (app) => {
        const d = await app.get(DeadLetterAdminService).get(cli.opts().tenant, id);
        print(cli.opts().json, d, () => [
          `${d.id}  ${d.status}  ${d.queue}/${d.jobName}  attempts ${d.attempts}, retries ${d.retries}`,
          `error: ${d.error}`,
          ...d.history.map((h) => `  ${h.at}  ${h.error}`),
          `payload: ${JSON.stringify(d.payload)}`,
        ]);
      }),
    );

  filterOptions(
    cli.command('dead-letters:retry [id]').description('retry one dead letter, or every open one matching the filter'),
  )
    .option('--dry-run', 'only count what would be retried')
    .option('--all', 'allow an empty filter (every open dead letter)')
    .option('--per-second <n>', 're-drive rate', int, 20)
    .action((id: string | undefined, o) =>
      withApp(async (app) => {
        const admin = app.get(DeadLetterAdminService);
        if (id) {
          const result = await admin.retry(actor, cli.opts().tenant, id);
          return print(cli.opts().json, result, () => [`retried ${id} as job ${result.jobId}`]);
        }
        const result = await admin.retryMany(actor, cli.opts().tenant, toFilter(o), {
          dryRun: Boolean(o.dryRun),
          all: Boolean(o.all),
          perSecond: o.perSecond,
        });
        print(cli.opts().json, result, () => [
          result.dryRun
            ? `${result.matched} open dead letter(s) would be retried`
            : `retried ${result.retried} dead letter(s), ${o.perSecond}/s`,
        ]);
      }),
    );

  cli
    .command('dead-letters:discard <id>')
    .description('discard a dead letter (the reason is audited)')
    .requiredOption('--reason <text>', 'why it is safe to drop')
    .action((id: string, o) =>
      withApp(async (app) => {
        const result = await app.get(DeadLetterAdminService).discard(actor, cli.opts().tenant, id, o.reason);
        print(cli.opts().json, result, () => [`discarded ${id}`]);
      }),
    );

  cli
    .command('events:replay')
    .description('re-deliver stored events to queued listeners (idempotent per listener and event)')
    .requiredOption('--from <date>', 'occurred at or after', iso)
    .requiredOption('--to <date>', 'occurred at or before', iso)
    .option('--name <event>', 'event name')
    .option('--aggregate-type <type>')
    .option('--aggregate-id <id>')
    .option('--warehouse <code>')
    .option('--listener <name>', 'one listener (default: every listener of each event)')
    .option('--broadcast', 'also send the events to live dashboards')
    .option('--wait', 'wait until the listener has handled every replayed event, showing progress')
    .action((o) =>
      withApp(async (app) => {
        const progress = (n: number) => !cli.opts().json && process.stderr.write(`\rqueued ${n} event(s)…`);
        const result = await app.get(ReplayService).replay(
          actor,
          cli.opts().tenant,
          {
            from: o.from,
            to: o.to,
            name: o.name,
            aggregateType: o.aggregateType,
            aggregateId: o.aggregateId,
            warehouseId: o.warehouse,
            listener: o.listener,
            broadcast: Boolean(o.broadcast),
          },
          progress,
        );
        if (!cli.opts().json) process.stderr.write('\n');
        if (o.wait && o.listener && result.eventIds.length) {
          const receipts = app.get(ListenerReceiptsRepository);
          for (;;) {
            const n = await receipts.handledCount(o.listener, result.eventIds);
            if (!cli.opts().json) process.stderr.write(`\rhandled ${n}/${result.eventIds.length}`);
            if (n >= result.eventIds.length) break;
            await new Promise((r) => setTimeout(r, 500));
          }
          if (!cli.opts().json) process.stderr.write('\n');
        }
        const { eventIds: _ids, ...summary } = result;
        print(cli.opts().json, summary, () => [
          `replay ${result.replayId}: ${result.events} event(s), ${result.jobs} listener job(s)`,
        ]);
      }),
    );

  cli
    .command('listeners:rebuild')
    .description("rebuild a projection listener's rows for a range: reset its receipts and replay the range to it")
    .requiredOption('--listener <name>', 'a listener declared with rebuildable: true')
    .requiredOption('--from <date>', 'occurred at or after', iso)
    .requiredOption('--to <date>', 'occurred before', iso)
    .option('--dry-run', 'reset in a transaction that is rolled back: only the counts')
    .option('--wait', 'wait until the listener has handled every queued event, showing progress')
    .action((o) =>
      withApp(async (app) => {
        const tenantId = cli.opts().tenant;
        const say = (line: string) => !cli.opts().json && process.stderr.write(line);
        const rebuilds = app.get(ProjectionRebuildService);
        const result = await rebuilds.rebuild(
          actor,
          tenantId,
          o.listener,
          { from: o.from, to: o.to, dryRun: Boolean(o.dryRun) },
          (p) =>
            say(
              p.step === 'reset'
                ? `reset ${p.receiptsReset} receipt(s) of ${p.eventsReset} event(s)\n`
                : `\rqueued ${p.eventsQueued} event(s)…`,
            ),
        );
        if (result.dryRun) {
          return print(cli.opts().json, result, () => [
            result.resumes
              ? `would finish interrupted rebuild ${result.resumes}`
              : `would reset ${result.receiptsReset} receipt(s) of ${result.eventsReset} event(s) and replay them`,
          ]);
        }
        say('\n');
        let handled: number | undefined;
        while (o.wait) {
          handled = (await rebuilds.progress(tenantId, result.listener, result.id)).handled;
          say(`\rhandled ${handled}/${result.eventsQueued}`);
          if (handled >= result.eventsQueued) break;
          await new Promise((r) => setTimeout(r, 1000));
        }
        if (o.wait) say('\n');
        const { cursor: _cursor, ...summary } = result;
        print(cli.opts().json, { ...summary, handled }, () => [
          `rebuild ${result.id} of ${result.listener}${result.resumed ? ' (finished an interrupted one)' : ''}: ` +
            `${result.receiptsReset} receipt(s) reset, ${result.eventsQueued} event(s) queued`,
        ]);
      }),
    );

  cli
    .command('events:tail')
    .description('follow stored events as they arrive (Ctrl-C to stop)')
    .option('--warehouse <code>')
    .option('--name <event>')
    .option('--seconds <n>', 'stop after this many seconds', int)
    .action((o) =>
      withApp(async (app) => {
        const store = app.get(EventStoreRepository);
        const tenantId = cli.opts().tenant;
        const stopAt = o.seconds ? Date.now() + o.seconds * 1000 : Infinity;
        const scope = { tenantId, visibleWarehouses: 'all' as const, warehouseId: o.warehouse };
        let cursor = (await store.catchUp({ ...scope, after: 'now', limit: 1 })).cursor;
        process.stderr.write(
          `following new events of ${tenantId}${o.warehouse ? ` in ${o.warehouse}` : ''}… (Ctrl-C to stop)\n`,
        );
        const line = (e: EventEnvelope) =>
          cli.opts().json
            ? JSON.stringify(e)
            : `${e.recordedAt}  ${e.name.padEnd(28)} ${e.warehouseId ?? '-'}  ${e.aggregateId}  ` +
              JSON.stringify(e.payload);
        while (Date.now() < stopAt) {
          // What was stored after the cursor, in the order it was stored; hasMore means more is waiting.
          const page = await store.catchUp({ ...scope, after: cursor, limit: 500 });
          for (const e of page.items) if (!o.name || e.name === o.name) console.log(line(e));
          cursor = page.cursor;
          if (!page.hasMore) await new Promise((r) => setTimeout(r, 500));
        }
      }),
    );
  cli
    .command('events:index-keys')
    .description('index the business keys of events stored before their keys were indexed (safe to run again)')
    .option('--batch-size <n>', 'events per statement', int)
    .action((o) =>
      withApp(async (app) => {
        const store = app.get(EventStoreRepository);
        let after: string | null = null;
        let events = 0;
        let keys = 0;
        for (;;) {
          const page = await store.indexKeysAfter(after, o.batchSize ?? 5000);
          if (!page.last) break;
          after = page.last;
          events += page.events;
          keys += page.keys;
          process.stderr.write(`\r\x1b[K${events} event(s) read, ${keys} key(s) indexed…`);
        }
        process.stderr.write('\r\x1b[K');
        print(cli.opts().json, { events, keys }, () => [`${events} event(s) read, ${keys} key(s) indexed`]);
      }),
    );
  cli
    .command('tables:prune')
    .description('delete the rows of every table that outlived its lifetime, in small batches (hourly in the worker)')
    .option('--dry-run', 'only count the expired rows of each table')
    .option('--batch-size <n>', 'rows per DELETE', int)
    .action((o) =>
      withApp(async (app) => {
        const json = cli.opts().json;
        const done = o.dryRun ? 'expired' : 'deleted';
        const progress = (table: string, rows: number) => {
          if (!json) process.stderr.write(`\r\x1b[K${table}: ${rows} row(s) ${done}…`);
        };
        const report = await app
          .get(TablePruner)
          .prune({ actor, dryRun: Boolean(o.dryRun), batchRows: o.batchSize, onProgress: progress });
        if (!json) process.stderr.write('\r\x1b[K');
        print(json, report, () => [
          ...report.tables.map(
            (t) =>
              `${t.table.padEnd(26)} ${String(t.rows).padStart(9)} ${done}  ` +
              (t.error ? `FAILED: ${t.error}` : `(${t.lifetime})`),
          ),
          `${report.dryRun ? 'would delete' : 'deleted'} ${report.rows} row(s) in ${report.ms} ms`,
        ]);
        if (report.failed.length) throw new Error(`pruning ${report.failed.join(', ')} failed; the rest was pruned`);
      }),
    );

  const outcomeLine = (p: PartitionOutcome) =>
    [
      p.partition.padEnd(24),
      p.outcome.padEnd(15),
      `${p.events} event(s)`,
      p.bytes === undefined ? '' : ` ${(p.bytes / 1e6).toFixed(1)} MB in ${p.files} file(s)`,
      p.writeMs === undefined
        ? ''
        : ` — write ${(p.writeMs / 1000).toFixed(1)} s, verify ${(p.verifyMs! / 1000).toFixed(1)} s, ` +
          `drop ${(p.dropMs! / 1000).toFixed(1)} s`,
      p.reason ? ` — ${p.reason}` : '',
    ].join('');

  cli
    .command('events:archive')
    .description('archive the event partitions past EVENT_RETENTION_DAYS to ARCHIVE_DIR, verify, then drop them')
    .option('--dry-run', 'only say what would be archived')
    .action((o) =>
      withApp(async (app, config) => {
        const json = cli.opts().json;
        const run = await app.get(EventArchive).run({
          dryRun: Boolean(o.dryRun),
          actor,
          onProgress: (partition, step, events) =>
            !json && process.stderr.write(`\r${partition}: ${step} ${events} event(s)…`.padEnd(60)),
        });
        if (!json && !o.dryRun && run.partitions.length) process.stderr.write('\n');
        print(json, run, () => [
          `partitions ending by ${run.cutoff} (EVENT_RETENTION_DAYS=${config.EVENT_RETENTION_DAYS}), archive in ` +
            `${config.ARCHIVE_DIR}${run.dryRun ? ' — dry run, nothing changed' : ''}`,
          ...(run.skipped ? [run.skipped] : []),
          ...(run.partitions.length ? run.partitions.map(outcomeLine) : run.skipped ? [] : ['nothing to archive']),
        ]);
        if (run.partitions.some((p) => p.reason && p.outcome !== 'archived')) process.exitCode = 1;
      }),
    );

  cli
    .command('events:restore')
    .description(
      'load archived events accepted in a range into event_archive_restored.events (read-only, for an ' +
        'investigation; replay, catch-up and search never read it), or --drop them',
    )
    .option('--from <date>', 'accepted at or after', iso)
    .option('--to <date>', 'accepted at or before', iso)
    .option('--drop', 'empty event_archive_restored.events instead')
    .action((o) =>
      withApp(async (app) => {
        const restore = app.get(ArchiveRestore);
        if (o.drop) {
          if (o.from || o.to) throw new InvalidArgumentError('--drop takes no --from or --to');
          const tenants = await restore.clear(actor);
          const n = Object.values(tenants).reduce((a, b) => a + b, 0);
          return print(cli.opts().json, { cleared: n, tenants }, () => [`dropped ${n} restored event(s)`]);
        }
        const progress = (n: number) => !cli.opts().json && process.stderr.write(`\rread ${n} event(s)…`);
        const result = await restore.restore(actor, { from: o.from, to: o.to }, progress);
        if (!cli.opts().json) process.stderr.write('\n');
        print(cli.opts().json, result, () => [
          `${result.events} archived event(s) in ${result.files} file(s): ${result.restored} restored, ` +
            `${result.events - result.restored} already there — query event_archive_restored.events`,
        ]);
      }),
    );

  const operator = (config: EventsConfig): Operator => {
    if (!config.OPS_TENANT)
      throw new ConfigError([
        "OPS_TENANT is not set: tenant commands act for the operating tenant and are audited in its log; set it to that tenant's id",
      ]);
    return { tenantId: config.OPS_TENANT, actor };
  };
  const tenantLine = (t: { id: string; name: string; suspendedAt: string | null; suspendedReason: string | null }) =>
    `${t.id.padEnd(24)} ${t.suspendedAt ? `suspended ${t.suspendedAt} (${t.suspendedReason})` : 'active'}  ${t.name}`;

  cli
    .command('tenants:list')
    .description('every tenant of the installation')
    .action(() =>
      withApp(async (app) => {
        const tenants = await app.get(TenantsService).list();
        print(cli.opts().json, tenants, () => tenants.map(tenantLine));
      }),
    );

  cli
    .command('tenants:create <id>')
    .description('create a tenant and its first admin, who sets a password with the one-time code printed')
    .requiredOption('--name <name>', 'display name of the tenant')
    .requiredOption('--admin-email <email>', 'email of its first admin')
    .option('--admin-name <name>', 'display name of its first admin', 'Administrator')
    .action((id: string, o) =>
      withApp(async (app, config) => {
        const created = await app
          .get(TenantsService)
          .create(operator(config), { id, name: o.name, adminEmail: o.adminEmail, adminName: o.adminName });
        print(cli.opts().json, created, () => [
          `created tenant ${id} with admin ${created.admin.email}`,
          `one-time code (valid until ${created.setPasswordExpiresAt}, shown once): ${created.setPasswordCode}`,
          `the admin opens <api url>/ui/#set-password=<code> (or POST /auth/set-password {"code": "…", "password": "…"})`,
        ]);
      }),
    );

  cli
    .command('tenants:admin-code <id>')
    .description('a new one-time set-password code for a first admin who has not set a password yet')
    .requiredOption('--email <email>', 'the admin')
    .action((id: string, o) =>
      withApp(async (app, config) => {
        const issued = await app.get(TenantsService).reissueAdminCode(operator(config), id, o.email);
        print(cli.opts().json, issued, () => [
          `one-time code for ${o.email} (valid until ${issued.setPasswordExpiresAt}, shown once): ${issued.setPasswordCode}`,
        ]);
      }),
    );

  cli
    .command('tenants:suspend <id>')
    .description('refuse every person, device and key of a tenant at once; its data stays')
    .requiredOption('--reason <text>', 'why (audited)')
    .action((id: string, o) =>
      withApp(async (app, config) => {
        const tenant = await app.get(TenantsService).suspend(operator(config), id, o.reason);
        print(cli.opts().json, tenant, () => [tenantLine(tenant)]);
      }),
    );

  cli
    .command('tenants:resume <id>')
    .description('let a suspended tenant in again')
    .action((id: string) =>
      withApp(async (app, config) => {
        const tenant = await app.get(TenantsService).resume(operator(config), id);
        print(cli.opts().json, tenant, () => [tenantLine(tenant)]);
      }),
    );
  return cli;
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  program()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      if (error instanceof ConfigError || error instanceof DomainError) console.error(`error: ${error.message}`);
      else console.error(`error: ${(error as Error).message}`);
      process.exit(1);
    });
}
