import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { EventActor } from '../envelope/event-envelope.js';
import { declareExempt } from '../retention/table-lifetimes.js';

export interface AuditEntry {
  tenantId: string;
  actor: EventActor;
  /** What was done, like `device.issued`, `user.role_changed`, `dead_letter.retried`. */
  action: string;
  target?: string;
  details?: Record<string, unknown>;
}

export interface AuditRow extends AuditEntry {
  id: string;
  at: string;
}

declareExempt('audit_log', 'the record of who did what: append-only at the database, kept');

/** The append-only audit log of admin actions (the table refuses updates and deletes). */
@Injectable()
export class AuditService {
  constructor(private readonly db: DataSource) {}

  /** Writes in the caller's transaction when given one, so the action and its audit row commit together. */
  async record(entry: AuditEntry, manager: EntityManager = this.db.manager): Promise<void> {
    await manager.query(
      `INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, target, details) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        entry.tenantId,
        entry.actor.type,
        entry.actor.id,
        entry.action,
        entry.target ?? null,
        JSON.stringify(entry.details ?? {}),
      ],
    );
  }

  async list(tenantId: string, limit: number, before?: string): Promise<AuditRow[]> {
    const rows: {
      id: string;
      tenant_id: string;
      at: Date;
      actor_type: EventActor['type'];
      actor_id: string;
      action: string;
      target: string | null;
      details: Record<string, unknown>;
    }[] = await this.db.query(
      `SELECT id::text, tenant_id, at, actor_type, actor_id, action, target, details
       FROM audit_log
       WHERE tenant_id = $1 AND ($3::bigint IS NULL OR audit_log.id < $3)
       ORDER BY audit_log.id DESC
       LIMIT $2`,
      [tenantId, limit, before ?? null],
    );
    return rows.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      tenantId: r.tenant_id,
      actor: { type: r.actor_type, id: r.actor_id },
      action: r.action,
      target: r.target ?? undefined,
      details: r.details,
    }));
  }
}
