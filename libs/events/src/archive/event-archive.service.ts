import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { EventsConfig } from '../config/events-config.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { type ArchiveLine, EventPartitions, type RetiredPartition, uuidV7Millis } from '../store/event-partitions.js';
import {
  type ArchiveFile,
  archiveFileName,
  type ArchiveManifest,
  CHECKSUM_OF,
  ContentTally,
  contentDifferences,
  FILE_EVENTS,
  MANIFEST_FORMAT,
  PartitionArchive,
} from './archive-files.js';

/** The steps of archiving one partition, in order; `onStage` is called after each. */
export type ArchiveStage = 'written' | 'verified' | 'archived' | 'detached';

export interface ArchiveOptions {
  /** Only say what a run would do. */
  dryRun?: boolean;
  /** Who runs it, for the audit log (the maintenance job: the system). */
  actor?: EventActor;
  onProgress?: (partition: string, step: 'writing' | 'verifying' | 'dropping', events: number) => void;
  /**
   * Called after each step of a partition, before the next; what it throws stops the partition there as a kill would
   * (nothing is cleaned up). Tests use it to stop a run half-way or to damage a file before it is read back.
   */
  onStage?: (stage: ArchiveStage, archive: PartitionArchive) => Promise<void> | void;
}

export interface PartitionOutcome {
  partition: string;
  outcome: 'archived' | 'would archive' | 'would finish' | 'not verified' | 'failed' | 'skipped';
  events: number;
  reason?: string;
  bytes?: number;
  files?: number;
  /** Milliseconds spent writing the files, reading them back against the partition, and detaching and dropping it. */
  writeMs?: number;
  verifyMs?: number;
  dropMs?: number;
}

export interface ArchiveRun {
  dryRun: boolean;
  /** Partitions that end at or before this moment (UTC midnight) are past the retention. */
  cutoff: string;
  /** Set when another run held the lock: this one did nothing. */
  skipped?: string;
  partitions: PartitionOutcome[];
}

/** The archive of a partition did not match it: the partition stays. */
class NotVerified extends Error {}

const SYSTEM: EventActor = { type: 'system', id: 'maintenance' };
const PAGE = 2000;
const LOCK = `hashtext('event_store archive')`;

/**
 * Retention: whole event partitions past EVENT_RETENTION_DAYS leave the store — the only way events ever do — each
 * archived to ARCHIVE_DIR (archive-files.ts), read back and matched with the partition, then detached and dropped,
 * audited. One run at a time across workers and the CLI (a Postgres advisory lock). Every step can be repeated, so a
 * run stopped anywhere (SIGKILL) is finished by the next: files are written whole or not at all, the manifest last;
 * a partition is dropped only while its manifest and files match it.
 */
@Injectable()
export class EventArchive {
  private readonly logger = new Logger(EventArchive.name);

  constructor(
    private readonly db: DataSource,
    private readonly partitions: EventPartitions,
    private readonly audit: AuditService,
    private readonly config: EventsConfig,
  ) {}

  async run(options: ArchiveOptions = {}): Promise<ArchiveRun> {
    const { cutoff, partitions } = await this.partitions.retired();
    const run: ArchiveRun = {
      dryRun: Boolean(options.dryRun),
      cutoff: new Date(uuidV7Millis(cutoff)).toISOString(),
      partitions: [],
    };
    if (!partitions.length) return run;
    if (options.dryRun) {
      for (const p of partitions) run.partitions.push(await this.plan(p));
      return run;
    }
    // A session lock on a connection of its own: it ends with the run, or with the process if it dies.
    const lock = this.db.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }] = await lock.query(`SELECT pg_try_advisory_lock(${LOCK}) AS locked`);
      if (!locked) return { ...run, skipped: 'another archive run is in progress' };
      // Listed again under the lock: a run that just ended may have taken some.
      for (const p of (await this.partitions.retired()).partitions) {
        await lock.query('SELECT 1'); // the lock's connection is still there
        run.partitions.push(await this.retire(p, options));
      }
      await lock.query(`SELECT pg_advisory_unlock(${LOCK})`);
    } finally {
      await lock.release();
    }
    return run;
  }

  /** What a run would do with a partition; reads only. */
  private async plan(p: RetiredPartition): Promise<PartitionOutcome> {
    const archive = new PartitionArchive(this.config.ARCHIVE_DIR, p.name);
    const manifest = await archive.manifest().catch(() => null);
    const stored = await this.partitions.content(p.name, false);
    const events = stored.events;
    if (p.state === 'detached' && !manifest) return this.detachedByHand(p.name, events);
    return manifest && !contentDifferences(manifest, stored).length
      ? { partition: p.name, outcome: 'would finish', events, reason: `its archive is written; ${p.state}` }
      : { partition: p.name, outcome: 'would archive', events };
  }

  private detachedByHand(partition: string, events: number): PartitionOutcome {
    return {
      partition,
      outcome: 'skipped',
      events,
      reason:
        'detached from the store without an archive (not by an archive run): attach it again or archive it by hand',
    };
  }

  private async retire(p: RetiredPartition, o: ArchiveOptions): Promise<PartitionOutcome> {
    const archive = new PartitionArchive(this.config.ARCHIVE_DIR, p.name);
    const times = { writeMs: 0, verifyMs: 0, dropMs: 0 };
    let state = p.state;
    try {
      for (let round = 1; ; round++) {
        // One that does not read (damaged, another format) is as good as none: the table is still there.
        let manifest = await archive.manifest().catch(() => null);
        const bounds = p.bounds ?? manifest?.bounds;
        if (!bounds) return this.detachedByHand(p.name, (await this.partitions.content(p.name, false)).events);
        if (!manifest || (await this.changedSince(archive, manifest, p.name)).length) {
          // Only a partition still taking events (before its detach) can differ twice in a row.
          if (round > 2) throw new NotVerified('the partition kept changing while it was archived');
          manifest = await this.write(archive, bounds, o, times);
        }
        const t0 = performance.now();
        o.onProgress?.(p.name, 'dropping', manifest.events);
        if (state !== 'detached') {
          await this.partitions.detach(p.name, state);
          state = 'detached';
          await o.onStage?.('detached', archive);
        }
        // From here nothing writes to it. Dropped only if it still holds exactly what the archive does.
        const sealed = manifest;
        const dropped = await this.db.transaction(async (m) => {
          await this.partitions.lockDetached(m, p.name);
          if (contentDifferences(sealed, await this.partitions.content(p.name, false, m)).length) return false;
          await this.partitions.dropDetached(m, p.name);
          await this.recordDropped(m, sealed, archive, o.actor ?? SYSTEM);
          return true;
        });
        times.dropMs += performance.now() - t0;
        if (dropped) {
          this.logger.log({ partition: p.name, events: sealed.events, archive: archive.dir }, 'partition archived');
          const { events, bytes, files } = sealed;
          return { partition: p.name, outcome: 'archived', events, bytes, files: files.length, ...times };
        }
        // An event reached it between the archive's check and the detach: archived again, from the detached table.
      }
    } catch (error) {
      const reason = (error as Error).message;
      this.logger.error({ partition: p.name, reason }, 'partition not archived; it stays in the store');
      return {
        partition: p.name,
        outcome: error instanceof NotVerified ? 'not verified' : 'failed',
        events: 0,
        reason,
      };
    }
  }

  /** Why an existing archive no longer describes the table (an event came in since, a file is damaged), if it does not. */
  private async changedSince(archive: PartitionArchive, manifest: ArchiveManifest, name: string): Promise<string[]> {
    const problems = contentDifferences(manifest, await this.partitions.content(name, false));
    for (const f of manifest.files) {
      const { sha256 } = await archive.sha256(f.name).catch(() => ({ sha256: 'missing' }));
      if (sha256 !== f.sha256) problems.push(`${f.name}: SHA-256 ${sha256}, the manifest says ${f.sha256}`);
    }
    return problems;
  }

  /** Writes the partition's files, reads them back against the partition, then writes the manifest. */
  private async write(
    archive: PartitionArchive,
    bounds: ArchiveManifest['bounds'],
    o: ArchiveOptions,
    times: { writeMs: number; verifyMs: number },
  ): Promise<ArchiveManifest> {
    const name = archive.partition;
    const t0 = performance.now();
    await archive.clear();
    const files: ArchiveFile[] = [];
    const pages = this.pages(name);
    let page = await pages.next();
    let written = 0;
    while (!page.done) {
      const file = { name: archiveFileName(files.length), events: 0, firstId: page.value[0].id, lastId: '' };
      async function* lines() {
        while (!page.done && file.events < FILE_EVENTS) {
          const rows: ArchiveLine[] = page.value;
          file.events += rows.length;
          file.lastId = rows[rows.length - 1].id;
          yield rows.map((r) => r.line + '\n').join('');
          o.onProgress?.(name, 'writing', (written += rows.length));
          page = await pages.next();
        }
      }
      const onDisk = await archive.writeFile(file.name, lines());
      files.push({ ...file, ...onDisk }); // after the write: the lines filled `file` in
    }
    times.writeMs += performance.now() - t0;
    await o.onStage?.('written', archive);

    const t1 = performance.now();
    // Postgres sums the partition while the files are read back.
    const storedContent = this.partitions.content(name, true);
    storedContent.catch(() => undefined); // awaited below
    const read = new ContentTally();
    const problems: string[] = [];
    for (const f of files) {
      o.onProgress?.(name, 'verifying', read.events);
      const back = await archive.readBack(f.name, read).catch((e: Error) => {
        problems.push(`${f.name} does not read back: ${e.message}`);
        return null;
      });
      if (back && back.sha256 !== f.sha256)
        problems.push(`${f.name}: SHA-256 ${back.sha256} read back, ${f.sha256} written`);
    }
    problems.push(...contentDifferences(read.content(), await storedContent));
    times.verifyMs += performance.now() - t1;
    if (problems.length) throw new NotVerified(`its archive does not match it: ${problems.join('; ')}`);
    await o.onStage?.('verified', archive);

    const manifest: ArchiveManifest = {
      format: MANIFEST_FORMAT,
      partition: name,
      bounds,
      ...read.content(),
      checksumOf: CHECKSUM_OF,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      files,
      archivedAt: new Date().toISOString(),
    };
    await archive.writeManifest(manifest);
    await o.onStage?.('archived', archive);
    return manifest;
  }

  /**
   * The partition's events in id order, a page at a time (keyset), so memory stays flat whatever its size; the next
   * page is read while this one is compressed.
   */
  private async *pages(name: string): AsyncGenerator<ArchiveLine[]> {
    const read = (after: string | null) => {
      const page = this.partitions.archiveLines(name, after, PAGE);
      page.catch(() => undefined); // awaited below; a run that stops before then must not crash on it
      return page;
    };
    for (let next = read(null); ;) {
      const rows = await next;
      if (!rows.length) return;
      next = read(rows[rows.length - 1].id);
      yield rows;
    }
  }

  /** In the operating tenant's audit log and in that of each tenant whose events left the store. */
  private async recordDropped(
    m: EntityManager,
    manifest: ArchiveManifest,
    archive: PartitionArchive,
    actor: EventActor,
  ): Promise<void> {
    const details = {
      from: manifest.bounds.from,
      to: manifest.bounds.to,
      archive: archive.dir,
      files: manifest.files.length,
      bytes: manifest.bytes,
      checksum: manifest.checksum,
    };
    const entry = { actor, action: 'event_store.partition_archived', target: manifest.partition };
    const tenants = Object.keys(manifest.tenants).length;
    if (this.config.OPS_TENANT)
      await this.audit.record(
        { ...entry, tenantId: this.config.OPS_TENANT, details: { ...details, events: manifest.events, tenants } },
        m,
      );
    for (const [tenantId, events] of Object.entries(manifest.tenants))
      if (tenantId !== this.config.OPS_TENANT)
        await this.audit.record({ ...entry, tenantId, details: { ...details, events } }, m);
  }
}
