import { Injectable } from '@nestjs/common';
import { DomainError, UsersRepository } from '@wms/events';
import { NOTIFIABLE_EVENTS } from '../notifications/warehouse-notifications.js';
import { type NotificationRule, NotificationRulesRepository, type RuleInput } from './notification-rules.repository.js';

const unknownRule = (id: string) =>
  new DomainError('RULE.UNKNOWN', `no rule ${id}`, 'not_found', [{ field: 'id', reason: 'no such rule' }]);

/** Routing rules a tenant's admins edit: event (+ conditions, severity) → people or roles → channels. */
@Injectable()
export class NotificationRulesService {
  constructor(
    private readonly rules: NotificationRulesRepository,
    private readonly users: UsersRepository,
  ) {}

  list(tenantId: string): Promise<NotificationRule[]> {
    return this.rules.list(tenantId);
  }

  async create(tenantId: string, input: RuleInput): Promise<NotificationRule> {
    await this.check(tenantId, input);
    return this.rules.create(tenantId, input);
  }

  async update(tenantId: string, id: string, input: RuleInput): Promise<NotificationRule> {
    await this.check(tenantId, input);
    const rule = await this.rules.update(tenantId, id, input);
    if (!rule) throw unknownRule(id);
    return rule;
  }

  async remove(tenantId: string, id: string) {
    if (!(await this.rules.remove(tenantId, id))) throw unknownRule(id);
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
    if (input.recipientUsers.length && !(await this.users.allInTenant(tenantId, input.recipientUsers)))
      throw new DomainError('RULE.UNKNOWN_USER', 'a recipient user is not in this tenant', 'invalid', [
        { field: 'recipientUsers', reason: 'unknown user' },
      ]);
  }
}
