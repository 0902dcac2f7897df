import { Injectable } from '@nestjs/common';
import { declareLifetime, EventsConfig } from '@wms/events';
import type { EntityManager } from 'typeorm';

// Only today's row counts; past days are kept as long as the rest of the history, to see what was sent.
declareLifetime('sms_budget', {
  lifetime: 'EVENT_RETENTION_DAYS after its day',
  expired: (settings) => ({
    where: `day < current_date - $1::int`,
    params: [settings(EventsConfig).EVENT_RETENTION_DAYS],
  }),
});

/** Owns `sms_budget`: how many SMS each tenant sent today, and whether its admins were told the budget is used up. */
@Injectable()
export class SmsBudgetRepository {
  /** Counts one SMS of the tenant today; today's count including it. */
  async countOne(m: EntityManager, tenantId: string): Promise<number> {
    const [row]: { sent: number }[] = await m.query(
      `INSERT INTO sms_budget (tenant_id, day, sent)
       VALUES ($1, current_date, 1)
       ON CONFLICT (tenant_id, day) DO UPDATE
       SET sent = sms_budget.sent + 1
       RETURNING sent`,
      [tenantId],
    );
    return row.sent;
  }

  /**
   * True once a day, when the tenant's next SMS would exceed `budget`: the caller tells the admins. Reads first,
   * so the usual answer (budget left, or already told) takes no lock.
   */
  async claimExhaustedNotice(m: EntityManager, tenantId: string, budget: number): Promise<boolean> {
    const [today]: { sent: number; notice_sent: boolean }[] = await m.query(
      `SELECT sent, notice_sent
       FROM sms_budget
       WHERE tenant_id = $1
         AND day = current_date`,
      [tenantId],
    );
    if ((today?.sent ?? 0) < budget || today?.notice_sent) return false;
    const claimed: unknown[] = await m.query(
      `INSERT INTO sms_budget (tenant_id, day, notice_sent)
       VALUES ($1, current_date, true)
       ON CONFLICT (tenant_id, day) DO UPDATE
       SET notice_sent = true
       WHERE NOT sms_budget.notice_sent
       RETURNING tenant_id`,
      [tenantId],
    );
    return claimed.length > 0;
  }
}
