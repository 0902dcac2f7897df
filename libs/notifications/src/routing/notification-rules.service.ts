import { Injectable } from '@nestjs/common';
import { changedRows, DomainError } from '@wms/events';
import { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Channel, Severity } from '../notifications/notification.js';
import { NOTIFIABLE_EVENTS } from '../notifications/warehouse-notifications.js';
import type { Condition } from './notification-router.service.js';

export interface RuleInput {
  name: string;
  eventName: string;
  conditions: Condition[];
  minSeverity: Severity;
  recipientUsers: string[];
  recipientRoles: string[];
  channels: Channel[];
  enabled: boolean;
}

/** A `notification_rules` row as Postgres returns it. */
interface RuleRow {
  id: string;
  name: string;
  event_name: string;
  conditions: Condition[];
  min_severity: Severity;
  recipient_users: string[];
  recipient_roles: string[];
  channels: Channel[];
  enabled: boolean;
}

const toRule = (r: RuleRow) => ({
  id: r.id,
  name: r.name,
  eventName: r.event_name,
  conditions: r.conditions,
  minSeverity: r.min_severity,
  recipientUsers: r.recipient_users,
  recipientRoles: r.recipient_roles,
  channels: r.channels,
  enabled: r.enabled,
});

/** Routing rules a tenant's admins edit: event (+ conditions, severity) → people or roles → channels. */
@Injectable()
export class NotificationRulesService {
  constructor(private readonly db: DataSource) {}

  list(tenantId: string) {
    return this.db
      .query(`SELECT * FROM notification_rules WHERE tenant_id = $1 ORDER BY created_at`, [tenantId])
      .then((rows) => rows.map(toRule));
  }

  async create(tenantId: string, input: RuleInput) {
    await this.check(tenantId, input);
    const [row] = await this.db.query(
      `INSERT INTO notification_rules (
         id, tenant_id, name, event_name, conditions, min_severity, recipient_users, recipient_roles, channels, enabled
       )
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       RETURNING *`,
      [
        uuidv7(),
        tenantId,
        input.name,
        input.eventName,
        JSON.stringify(input.conditions),
        input.minSeverity,
        input.recipientUsers,
        input.recipientRoles,
        input.channels,
        input.enabled,
      ],
    );
    return toRule(row);
  }

  async update(tenantId: string, id: string, input: RuleInput) {
    await this.check(tenantId, input);
    const [row] = await changedRows<RuleRow>(
      this.db.manager,
      `UPDATE notification_rules
       SET name = $3, event_name = $4, conditions = $5, min_severity = $6, recipient_users = $7, recipient_roles = $8,
           channels = $9, enabled = $10
       WHERE id = $1 AND tenant_id = $2
       RETURNING *`,
      [
        id,
        tenantId,
        input.name,
        input.eventName,
        JSON.stringify(input.conditions),
        input.minSeverity,
        input.recipientUsers,
        input.recipientRoles,
        input.channels,
        input.enabled,
      ],
    );
    if (!row)
      throw new DomainError('RULE.UNKNOWN', `no rule ${id}`, 'not_found', [{ field: 'id', reason: 'no such rule' }]);
    return toRule(row);
  }

  async remove(tenantId: string, id: string) {
    const rows = await changedRows(
      this.db.manager,
      `DELETE FROM notification_rules WHERE id = $1 AND tenant_id = $2 RETURNING id`,
      [id, tenantId],
    );
    if (!rows.length)
      throw new DomainError('RULE.UNKNOWN', `no rule ${id}`, 'not_found', [{ field: 'id', reason: 'no such rule' }]);
    return { id, deleted: true };
  }

  private async check(tenantId: string, input: RuleInput): Promise<void> {
    if (!NOTIFIABLE_EVENTS.includes(input.eventName)) {
      throw new DomainError(
        'RULE.UNKNOWN_EVENT',
        `${input.eventName} has no notification; one of ${NOTIFIABLE_EVENTS.join(', ')}`,
        'invalid',
        [{ field: 'eventName', reason: 'no notification for this event' }],
      );
    }
    if (input.recipientUsers.length) {
      const [{ n }] = await this.db.query(
        `SELECT count(*)::int AS n FROM users WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
        [tenantId, input.recipientUsers],
      );
      if (n !== new Set(input.recipientUsers).size)
        throw new DomainError('RULE.UNKNOWN_USER', 'a recipient user is not in this tenant', 'invalid', [
          { field: 'recipientUsers', reason: 'unknown user' },
        ]);
    }
  }
}
