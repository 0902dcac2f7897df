import type { EventEnvelope } from '@wms/events';

export const CHANNELS = ['in_app', 'email', 'sms', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];
export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
export const CATEGORIES = ['stock', 'inbound', 'outbound', 'system'] as const;
export type Category = (typeof CATEGORIES)[number];

export interface Recipient {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  phone: string | null;
  role: string;
  timeZone: string;
  hasPush: boolean;
}

/**
 * Delivered together with others for the same recipient within a window: every SMS, and the emails of someone who
 * chose the digest unless critical. The one statement of that rule (routing and redrive both ask it).
 */
export const deliveredGrouped = (channel: Channel, severity: Severity, emailDigest: boolean): boolean =>
  channel === 'sms' || (channel === 'email' && emailDigest && severity !== 'critical');

export interface Rendered {
  title: string;
  body: string;
  link: string | null;
}

/**
 * One situation worth telling someone about, made from the event that revealed it. Like Laravel's
 * notifications: `via()` picks the channels a recipient can get, `to…()` render per channel.
 */
export abstract class WarehouseNotification<P extends object = object> {
  abstract readonly kind: string;
  abstract readonly category: Category;
  abstract readonly severity: Severity;

  constructor(readonly event: EventEnvelope<P>) {}

  protected get p(): P {
    return this.event.payload;
  }

  /** Who hears about it when the tenant has no rule of its own: supervisors of the warehouse; critical also admins. */
  defaultRoles(): string[] {
    return this.severity === 'critical' ? ['supervisor', 'admin'] : ['supervisor'];
  }

  /** Identifies "the same alert about the same thing" for storm control. */
  dedupKey(): string {
    return `${this.kind}:${this.event.aggregateId}`;
  }

  abstract render(): Rendered;

  /** The channels this recipient can get at all; rules and preferences narrow them further. */
  via(recipient: Recipient): Channel[] {
    const channels: Channel[] = ['in_app'];
    if (recipient.email) channels.push('email');
    if (recipient.phone && this.severity !== 'info') channels.push('sms');
    if (recipient.hasPush) channels.push('push');
    return channels;
  }
}

/** A stored notification, as channels render it. */
export interface StoredNotification extends Rendered {
  id: string;
  kind: string;
  severity: Severity;
  createdAt: string;
}

export function renderEmail(items: StoredNotification[]): { subject: string; text: string; html: string } {
  if (items.length === 1) {
    const [n] = items;
    return {
      subject: `[${n.severity.toUpperCase()}] ${n.title}`,
      text: `${n.body}${n.link ? `\n\n${n.link}` : ''}`,
      html:
        `<p><strong>${escapeHtml(n.title)}</strong></p><p>${escapeHtml(n.body)}</p>` +
        `${n.link ? `<p><a href="${escapeHtml(n.link)}">Open</a></p>` : ''}`,
    };
  }
  return {
    subject: `${items.length} warehouse alerts`,
    text: items.map((n) => `- [${n.severity}] ${n.title}: ${n.body}`).join('\n'),
    html: `<ul>${items.map((n) => `<li><strong>${escapeHtml(n.title)}</strong>: ${escapeHtml(n.body)}</li>`).join('')}</ul>`,
  };
}

/** One SMS segment (≤ 160 characters); several alerts become one grouped message. */
export function renderSms(items: StoredNotification[]): string {
  if (items.length === 1) return truncate(`${items[0].title}: ${items[0].body}`, 160);
  return truncate(`${items.length} WMS alerts: ${items.map((n) => n.title).join('; ')}`, 160);
}

export function renderPush(n: StoredNotification): { title: string; body: string; url: string | null; id: string } {
  return { id: n.id, title: n.title, body: truncate(n.body, 240), url: n.link };
}

export const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
