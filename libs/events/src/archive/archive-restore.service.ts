import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { EventsConfig } from '../config/events-config.js';
import { checkDateRange } from '../dates/strict-dates.js';
import type { EventActor } from '../envelope/event-envelope.js';
import { DomainError } from '../errors/domain-error.js';
import { uuidV7Floor } from '../store/event-partitions.js';
import { type ArchiveFile, archivedPartitions, type PartitionArchive } from './archive-files.js';
import { RestoredEventsRepository } from './restored-events.repository.js';

export interface RestoreResult {
  /** Archive files read (each checked against its SHA-256 first). */
  files: number;
  /** Archived events in the range. */
  events: number;
  /** Of those, loaded now; the rest were restored before. */
  restored: number;
  tenants: Record<string, number>;
}

const BATCH = 1000;

/**
 * Loads archived events back into `event_archive_restored.events` for an investigation (never into the store), and
 * clears it afterwards; both audited, in the operating tenant's log and in each tenant's whose events they were.
 */
@Injectable()
export class ArchiveRestore {
  constructor(
    private readonly restored: RestoredEventsRepository,
    private readonly audit: AuditService,
    private readonly config: EventsConfig,
  ) {}

  /** The archived events accepted from `from` to `to` (both included, by the time in their id). */
  async restore(
    actor: EventActor,
    range: { from: string; to: string },
    onProgress?: (events: number) => void,
  ): Promise<RestoreResult> {
    const missing = (['from', 'to'] as const).filter((f) => !range[f]);
    if (missing.length)
      throw new DomainError('ARCHIVE.RANGE', `${missing.join(' and ')} required`, 'invalid', [
        ...missing.map((field) => ({ field, reason: 'is required' })),
      ]);
    checkDateRange(range, { code: 'ARCHIVE.RANGE' });
    const low = uuidV7Floor(Date.parse(range.from));
    const high = uuidV7Floor(Date.parse(range.to) + 1);
    const chosen: { archive: PartitionArchive; file: ArchiveFile }[] = [];
    for (const archive of await archivedPartitions(this.config.ARCHIVE_DIR)) {
      const { bounds, files } = (await archive.manifest())!;
      if ((bounds.from !== null && bounds.from >= high) || bounds.to <= low) continue;
      for (const file of files) if (file.lastId >= low && file.firstId < high) chosen.push({ archive, file });
    }
    // Every file is checked before anything is loaded: a damaged archive restores nothing.
    for (const { archive, file } of chosen) {
      const { sha256 } = await archive.sha256(file.name);
      if (sha256 !== file.sha256)
        throw new Error(
          `archive file ${archive.file(file.name)} is damaged: its SHA-256 is ${sha256}, its manifest says ` +
            `${file.sha256}; nothing was restored`,
        );
    }
    const result: RestoreResult = { files: chosen.length, events: 0, restored: 0, tenants: {} };
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length) result.restored += await this.restored.insert(batch);
      batch = [];
      onProgress?.(result.events);
    };
    for (const { archive, file } of chosen) {
      for await (const line of archive.lines(file.name)) {
        const { id, tenant_id } = JSON.parse(line) as { id: string; tenant_id: string };
        if (id < low || id >= high) continue;
        result.events++;
        result.tenants[tenant_id] = (result.tenants[tenant_id] ?? 0) + 1;
        batch.push(line);
        if (batch.length >= BATCH) await flush();
      }
    }
    await flush();
    await this.record(actor, 'event_archive.restored', result.tenants, { ...range, files: result.files });
    return result;
  }

  /** Empties the restored events; returns how many of each tenant there were. */
  async clear(actor: EventActor): Promise<Record<string, number>> {
    const tenants = await this.restored.clear();
    await this.record(actor, 'event_archive.cleared', tenants, {});
    return tenants;
  }

  private async record(
    actor: EventActor,
    action: string,
    tenants: Record<string, number>,
    details: Record<string, unknown>,
  ): Promise<void> {
    const events = Object.values(tenants).reduce((a, b) => a + b, 0);
    const ops = this.config.OPS_TENANT;
    if (ops) await this.audit.record({ tenantId: ops, actor, action, details: { ...details, events, tenants } });
    for (const [tenantId, n] of Object.entries(tenants))
      if (tenantId !== ops) await this.audit.record({ tenantId, actor, action, details: { ...details, events: n } });
  }
}
