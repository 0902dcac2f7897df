import { declaredQueuedListeners, EventCatalog, renderCatalogMarkdown } from '@wms/events';
import '@wms/notifications';
import '@wms/wms-domain';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';

describe('event catalog', () => {
  const describeAll = () =>
    EventCatalog.describe((name) =>
      declaredQueuedListeners()
        .filter((l) => (l.events as string[]).includes(name))
        .map((l) => l.name),
    );

  it('names, for every event type, the command that emits it', () => {
    for (const t of describeAll()) expect(t.emittedBy, t.name).not.toEqual([]);
  });

  it('covers the warehouse events the customer’s system names', () => {
    const names = EventCatalog.definitions().map((d) => d.name);
    for (const name of [
      'product.created',
      'product.updated',
      'product.discontinued',
      'location.created',
      'location.blocked',
      'supplier.created',
      'asn.created',
      'goods.received',
      'receipt.discrepancy_found',
      'quality.hold_placed',
      'putaway.completed',
      'inventory.adjusted',
      'inventory.moved',
      'inventory.counted',
      'inventory.discrepancy_found',
      'inventory.reserved',
      'inventory.released',
      'inventory.low_stock',
      'inventory.out_of_stock',
      'inventory.expiring_soon',
      'location.capacity_exceeded',
      'order.created',
      'order.allocated',
      'pick.assigned',
      'pick.completed',
      'pick.short',
      'order.packed',
      'shipment.dispatched',
      'order.cancelled',
    ])
      expect(names).toContain(name);
  });

  it('declares as search keys every field people look events up by, and only fields that exist', () => {
    // SKU, order, ASN, carton, location, lot, tracking number: a payload field of one of these names is a key.
    const KEY_FIELDS = new Set([
      'sku',
      'orderNumber',
      'asnNumber',
      'cartonId',
      'locationCode',
      'fromLocation',
      'toLocation',
      'lot',
      'trackingNumber',
    ]);
    type Schema = {
      properties?: Record<string, { type?: string; items?: { $ref?: string } }>;
      definitions?: Record<string, Schema>;
    };
    for (const t of describeAll()) {
      const schema = t.schema as Schema;
      const fields = (s: Schema, prefix: string): [string, string | undefined][] =>
        Object.entries(s.properties ?? {}).flatMap(([name, p]) => {
          const nested = p.items?.$ref?.split('/').pop();
          return nested && schema.definitions?.[nested]
            ? fields(schema.definitions[nested], `${prefix}${name}[].`)
            : [[`${prefix}${name}`, p.type] as [string, string | undefined]];
        });
      const all = fields(schema, '');
      const keyLike = all.filter(([path]) => KEY_FIELDS.has(path.split('.').pop()!)).map(([path]) => path);
      expect([...t.keys].sort(), `${t.name}: its key fields`).toEqual(keyLike.sort());
      for (const key of t.keys) expect(all, `${t.name}: ${key}`).toContainEqual([key, 'string']);
    }
  });

  it('includes nested payload classes in the JSON Schema', () => {
    const asn = describeAll().find((t) => t.name === 'asn.created')!;
    expect(asn.schema).toMatchObject({
      definitions: { AsnLineV1: { properties: { sku: { type: 'string' }, quantity: { type: 'integer' } } } },
    });
  });

  it('matches the committed docs/event-catalog.md (run `npm run catalog` after changing an event)', () => {
    const committed = readFileSync(path.join(testEnv.root, 'docs', 'event-catalog.md'), 'utf8');
    expect(committed).toBe(renderCatalogMarkdown(describeAll()));
  });
});
