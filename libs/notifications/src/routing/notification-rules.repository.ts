import { Injectable } from '@nestjs/common';
import { changedRows, declareExempt } from '@wms/events';
import { DataSource, type EntityManager } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Channel, Severity } from '../notifications/notification.js';

export interface Condition {
  field: string;
  op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'in';
  value: unknown;
}

/** What routing needs of a rule: when it applies, to whom, on which channels. */
export interface RoutingRule {
  conditions: Condition[];
  minSeverity: Severity;
  recipientUsers: string[];
  recipientRoles: string[];
  channels: Channel[];
}

export interface RuleInput extends RoutingRule {
  name: string;
  eventName: string;
  enabled: boolean;
}

export interface NotificationRule extends RuleInput {
  id: string;
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

const toRule = (r: RuleRow): NotificationRule => ({
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

const RULE_COLUMNS =
  'id, name, event_name, conditions, min_severity, recipient_users, recipient_roles, channels, enabled';

/** The values of a rule in the order of $3…$10 below. */
const values = (input: RuleInput) => [
  input.name,
  input.eventName,
  JSON.stringify(input.conditions),
  input.minSeverity,
  input.recipientUsers,
  input.recipientRoles,
  input.channels,
  input.enabled,
];

declareExempt('notification_rules', "a tenant's routing rules: configuration, deleted by its admins");

/** Owns `notification_rules`: a tenant's routing rules. */
@Injectable()
export class NotificationRulesRepository {
  constructor(private readonly db: DataSource) {}

  /** The tenant's enabled rules for the event. */
  async enabledFor(m: EntityManager, tenantId: string, eventName: string): Promise<RoutingRule[]> {
    const rows: RuleRow[] = await m.query(
      `SELECT ${RULE_COLUMNS}
       FROM notification_rules
       WHERE tenant_id = $1
         AND event_name = $2
         AND enabled`,
      [tenantId, eventName],
    );
    return rows.map(toRule);
  }

  async list(tenantId: string): Promise<NotificationRule[]> {
    const rows: RuleRow[] = await this.db.query(
      `SELECT ${RULE_COLUMNS}
       FROM notification_rules
       WHERE tenant_id = $1
       ORDER BY created_at`,
      [tenantId],
    );
    return rows.map(toRule);
  }

  async create(tenantId: string, input: RuleInput): Promise<NotificationRule> {
    const [row]: RuleRow[] = await this.db.query(
      `INSERT INTO notification_rules (
         id, tenant_id, name, event_name, conditions, min_severity, recipient_users, recipient_roles, channels, enabled
       )
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       RETURNING ${RULE_COLUMNS}`,
      [uuidv7(), tenantId, ...values(input)],
    );
    return toRule(row);
  }

  /** The changed rule, or null when the tenant has no rule `id`. */
  async update(tenantId: string, id: string, input: RuleInput): Promise<NotificationRule | null> {
    const [row] = await changedRows<RuleRow>(
      this.db.manager,
      `UPDATE notification_rules
       SET name = $3, event_name = $4, conditions = $5, min_severity = $6, recipient_users = $7, recipient_roles = $8,
           channels = $9, enabled = $10
       WHERE id = $1
         AND tenant_id = $2
       RETURNING ${RULE_COLUMNS}`,
      [id, tenantId, ...values(input)],
    );
    return row ? toRule(row) : null;
  }

  /** Whether the tenant had a rule `id` (now deleted). */
  async remove(tenantId: string, id: string): Promise<boolean> {
    const rows = await changedRows(
      this.db.manager,
      `DELETE FROM notification_rules
       WHERE id = $1
         AND tenant_id = $2
       RETURNING id`,
      [id, tenantId],
    );
    return rows.length > 0;
  }
}
