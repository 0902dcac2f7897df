import { classValidatorProblems, compiledCheck, EventCatalog } from '@wms/events';
import '@wms/notifications';
import '@wms/wms-domain';
import fc from 'fast-check';
import '../apps/api/src/app.module.js';
import { compiledBodyClasses } from '../apps/api/src/common/validation.pipe.js';
import { describe, expect, it } from 'vitest';
import { BAD_DATES, badFor, type DtoSpec, dtoSpec, type FieldSpec } from './support/fuzz-inputs.js';

type Rules = Record<string, unknown[]>;
type Path = (string | number)[];

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = 400;

/** A GTIN of a given length with its GS1 check digit right. */
const gtin = fc
  .tuple(fc.constantFrom(8, 12, 13, 14), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 13, maxLength: 13 }))
  .map(([length, digits]) => {
    const body = digits.slice(0, length - 1);
    const sum = [...body].reverse().reduce((acc, d, i) => acc + d * (i % 2 === 0 ? 3 : 1), 0);
    return [...body, (10 - (sum % 10)) % 10].join('');
  });

const lengthOf = (rules: Rules) => ({
  min: (rules.minLength?.[0] as number | undefined) ?? (rules.isLength?.[0] as number | undefined),
  max: (rules.maxLength?.[0] as number | undefined) ?? (rules.isLength?.[1] as number | undefined),
});

/** Values a field's rules take (mostly): the generator aims at valid ones; the two validators judge. */
function validFor(rules: Rules): fc.Arbitrary<unknown> {
  if ('isIn' in rules) return fc.constantFrom(...(rules.isIn[0] as unknown[]));
  if ('gtinCheckDigit' in rules) return gtin;
  const years = { min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59Z'), noInvalidDate: true };
  if ('isStrictDate' in rules) return fc.date(years).map((d) => d.toISOString().slice(0, 10));
  if ('isStrictDateTime' in rules) return fc.date(years).map((d) => d.toISOString());
  if ('isUuid' in rules) return fc.uuid();
  const { min, max } = lengthOf(rules);
  if ('matches' in rules)
    return fc
      .stringMatching(rules.matches[0] as RegExp, { size: 'small' })
      .filter((s) => s.length <= (max ?? Infinity) && s.length >= (min ?? 0));
  if ('isString' in rules || 'isLength' in rules) {
    const from = min ?? 0;
    const to = Math.min(max ?? 40, 40);
    const edges: string[] = [];
    // At the limit as class-validator counts: a surrogate pair, or a character and its presentation selector, is one.
    if (max !== undefined) edges.push('x'.repeat(max), '\u{1F4E6}'.repeat(max), '\u2764\uFE0F'.repeat(max));
    if (from > 0) edges.push('\u2764\uFE0F'.repeat(from));
    return fc.oneof(
      { weight: 4, arbitrary: fc.string({ minLength: from, maxLength: Math.max(from, to) }) },
      { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: from, maxLength: Math.max(from, to) }) },
      { weight: edges.length ? 1 : 0, arbitrary: fc.constantFrom(...(edges.length ? edges : [''])) },
    );
  }
  const lo = rules.min?.[0] as number | undefined;
  const hi = rules.max?.[0] as number | undefined;
  if ('wholeGrams' in rules)
    return fc
      .integer({ min: Math.ceil((lo ?? 0.001) * 1000), max: Math.floor((hi ?? 10_000) * 1000) })
      .map((g) => g / 1000);
  if ('isInt' in rules || 'isNumber' in rules) {
    const from = lo ?? ('isPositive' in rules ? 1 : -1_000_000);
    const to = hi ?? 1_000_000;
    const not = rules.notEquals?.[0];
    return fc.oneof(fc.integer({ min: from, max: to }), fc.constantFrom(from, to)).filter((n) => n !== not);
  }
  if ('isObject' in rules) return fc.constant({});
  // A list checked elsewhere (POST /events/batch's items, item by item): any items, within its size rules.
  if ('isArray' in rules)
    return fc.array(fc.oneof(fc.object(), fc.string({ maxLength: 5 }), fc.integer()), {
      minLength: (rules.arrayMinSize?.[0] as number | undefined) ?? 0,
      maxLength: Math.max((rules.arrayMinSize?.[0] as number | undefined) ?? 0, 3),
    });
  return fc.string({ maxLength: 10 });
}

function validObject(spec: DtoSpec): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.fromEntries(
    spec.fields.map((f): [string, fc.Arbitrary<unknown>] => {
      const value = f.nested
        ? f.list
          ? fc.array(validObject(f.nested), {
              minLength: (f.rules.arrayMinSize?.[0] as number | undefined) ?? 0,
              maxLength: Math.max((f.rules.arrayMinSize?.[0] as number | undefined) ?? 0, 3),
            })
          : validObject(f.nested)
        : validFor(f.rules);
      // @IsOptional: left out, or null, or given.
      return [f.name, f.required ? value : fc.oneof(value, fc.constant(undefined), fc.constant(null))];
    }),
  );
  return fc
    .record(fields)
    .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, unknown>);
}

/** Every field in a value of the spec, nested ones included (`cartons.0.weightKg`). */
function fieldsIn(spec: DtoSpec, value: Record<string, unknown>, prefix: Path = []) {
  return spec.fields.flatMap((field): { path: Path; field: FieldSpec; element: unknown }[] => {
    const path = [...prefix, field.name];
    const own = value[field.name];
    const here = [{ path, field, element: Array.isArray(own) ? own[0] : undefined }];
    if (field.nested && field.list && Array.isArray(own) && own[0] && typeof own[0] === 'object')
      return [...here, ...fieldsIn(field.nested, own[0] as Record<string, unknown>, [...path, 0])];
    return here;
  });
}

/** Values that break the custom rules, or sit just inside them. */
function edgesFor(rules: Rules, current: unknown): unknown[] {
  const out: unknown[] = [];
  if ('gtinCheckDigit' in rules && typeof current === 'string' && current.length)
    out.push(current.slice(0, -1) + ((Number(current.at(-1)) + 1) % 10), `${current}0`, '00000000', '12345678');
  if ('wholeGrams' in rules) out.push(0.0005, 1.2345, 0.0011, 9_999.9999, 10_000, 10_000.001, 0.001, 1e-7);
  if ('isStrictDate' in rules || 'isStrictDateTime' in rules)
    out.push(...BAD_DATES, '2024-02-29', '2024-02-29T12:00:00Z', '2026-11-25T08:30:00+05:30', '2026-11-25');
  const { min, max } = lengthOf(rules);
  if (max !== undefined) out.push('x'.repeat(max + 1), '\u2764\uFE0F'.repeat(max + 1), `${'\u{1F4E6}'.repeat(max)}x`);
  if (min) out.push('x'.repeat(min - 1));
  return out;
}

const OTHER_KEYS = ['__proto__', 'constructor', 'toString', 'tenantId', 'bogus'];

/** A payload made bad (or not) by one change: a bad value, an edge value, a missing field, null, an unknown key. */
function mutated(spec: DtoSpec, valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const fields = fieldsIn(spec, valid);
  return fc.constantFrom(...fields).chain(({ path, field, element }) => {
    const current = path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], valid);
    const edges = edgesFor(field.rules, current);
    const change = fc.oneof(
      { weight: 5, arbitrary: badFor(field, element).map((b) => ({ value: b.value, remove: false })) },
      {
        weight: edges.length ? 3 : 0,
        arbitrary: fc.constantFrom(...edges, 0).map((value) => ({ value, remove: false })),
      },
      { weight: 1, arbitrary: fc.constant({ value: null, remove: false }) },
      { weight: 1, arbitrary: fc.constant({ value: undefined, remove: true }) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(...OTHER_KEYS)
          .map((key) => ({ value: { key }, remove: false, extra: true as const })),
      },
    );
    return change.map((c) => {
      const copy = structuredClone(valid);
      const parentPath = 'extra' in c ? path.slice(0, -1) : path.slice(0, -1);
      const parent = parentPath.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], copy) as
        Record<string | number, unknown> | undefined;
      if (!parent || typeof parent !== 'object') return copy;
      const key = 'extra' in c ? (c.value as { key: string }).key : path.at(-1)!;
      if (c.remove) delete parent[key];
      else
        Object.defineProperty(parent, key, {
          value: 'extra' in c ? 1 : c.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return copy;
    });
  });
}

/** What the api's JSON parser makes of a value: raw tokens like 1e999 become Infinity; NaN is not JSON (undefined). */
function overTheWire(value: unknown): unknown {
  const text = JSON.stringify(value).replace(/"\\u0007raw:(.*?)\\u0007"/g, (_, raw: string) => raw);
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Keys named like Object.prototype members, which class-validator's whitelist never sees (validation.pipe.ts). */
const PROTOTYPE_KEYS = new Set(['prototype', ...Object.getOwnPropertyNames(Object.prototype)]);
const hasProtoKey = (value: unknown): boolean =>
  value !== null &&
  typeof value === 'object' &&
  (Object.keys(value).some((k) => PROTOTYPE_KEYS.has(k)) || Object.values(value).some(hasProtoKey));

/**
 * Generated valid and mutated bodies of `cls`, each judged by both validators, which must agree; returns how many of
 * each kind class-validator judged.
 */
function agreementOn(name: string, cls: new () => object, prefix: string): { valid: number; invalid: number } {
  const spec = dtoSpec(cls);
  const tally = { valid: 0, invalid: 0 };
  const values = validObject(spec).chain((valid) => fc.oneof(fc.constant<unknown>(valid), mutated(spec, valid)));
  fc.assert(
    fc.property(values, (raw) => {
      const value = overTheWire(raw);
      if (value === null || typeof value !== 'object') return;
      const compiled = compiledCheck(cls, value, prefix);
      // class-validator's whitelist never sees a key named like an Object.prototype member (`toString`, `__proto__`):
      // the compiled validator refuses it, as the api's pipe and JSON parser do before either — except inside a
      // field the handler checks item by item (`validatedPerItem`), where the item's own check refuses it.
      const perItem = (cls as { validatedPerItem?: string[] }).validatedPerItem ?? [];
      if (hasProtoKey(Object.fromEntries(Object.entries(value).filter(([k]) => !perItem.includes(k)))))
        return void expect(compiled).not.toBeNull();
      const byClassValidator = classValidatorProblems(cls, value, prefix);
      if (byClassValidator.length) tally.invalid++;
      else tally.valid++;
      expect(
        compiled === null,
        `${name} ${JSON.stringify(value)}: class-validator says ${JSON.stringify(byClassValidator)}, compiled says ${JSON.stringify(compiled)}`,
      ).toBe(byClassValidator.length === 0);
    }),
    { numRuns: RUNS, seed },
  );
  return tally;
}

/** Neither side of the comparison is empty for any class. */
function expectBothSides(seen: Map<string, { valid: number; invalid: number }>): void {
  for (const [name, { valid, invalid }] of seen) {
    expect(valid, `${name}: valid values generated`).toBeGreaterThan(RUNS / 10);
    expect(invalid, `${name}: invalid values generated`).toBeGreaterThan(RUNS / 10);
  }
}

describe('compiled payload validator', () => {
  it(`takes and refuses exactly what class-validator does, on every catalog type (seed ${seed})`, () => {
    const definitions = EventCatalog.definitions();
    expect(definitions.length).toBeGreaterThan(30);
    const seen = new Map<string, { valid: number; invalid: number }>();
    for (const definition of definitions)
      seen.set(definition.name, agreementOn(definition.name, definition.payload, 'payload'));
    expectBothSides(seen);
  });

  it(`takes and refuses exactly what class-validator does, on every request body the api checks compiled (seed ${seed})`, () => {
    // The hot routes' bodies (@CompiledBody): the handler gets what the compiled validator took, unchanged.
    const classes = compiledBodyClasses();
    expect(classes.map((c) => c.name).sort()).toEqual(
      ['AdjustDto', 'ConfirmPickDto', 'CountDto', 'MoveDto', 'PublishBatchDto', 'PublishEventDto', 'ReceiveDto'].sort(),
    );
    expectBothSides(new Map(classes.map((cls) => [cls.name, agreementOn(cls.name, cls, '')])));
  });

  it('refuses what the custom rules refuse, naming the field as class-validator does', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        'product.created',
        { sku: 'SKU-1', gtin: '4006381333932', name: 'Pen', unitOfMeasure: 'EA', reorderPoint: 0 },
        'payload.gtin',
      ],
      [
        'order.packed',
        { warehouseId: 'WH1', orderNumber: 'SO-1', cartons: [{ cartonId: 'C1', weightKg: 1.2345 }] },
        'payload.cartons.0.weightKg',
      ],
      [
        'goods.received',
        {
          warehouseId: 'WH1',
          sku: 'S',
          locationCode: 'D-1',
          lot: '',
          expiresOn: '2026-02-30',
          quantity: 1,
          damaged: 0,
        },
        'payload.expiresOn',
      ],
      [
        'carrier.tracking_updated',
        { warehouseId: 'WH1', orderNumber: 'so-1', carrierCode: 'DHL', trackingNumber: 'T', status: 'delivered' },
        'payload.orderNumber',
      ],
    ];
    for (const [name, payload, field] of cases) {
      const definition = EventCatalog.resolve(name);
      expect(compiledCheck(definition.payload, payload, 'payload')?.map((p) => p.field)).toContain(field);
      expect(classValidatorProblems(definition.payload, payload, 'payload').map((p) => p.field)).toContain(field);
      expect(() => EventCatalog.checkPayload(definition, payload)).toThrow(
        expect.objectContaining({
          code: 'EVENTS.INVALID_PAYLOAD',
          fields: expect.arrayContaining([expect.objectContaining({ field })]),
        }),
      );
    }
    // The same payloads with the rule kept are taken.
    const good = EventCatalog.resolve('product.created');
    expect(
      compiledCheck(
        good.payload,
        { sku: 'SKU-1', gtin: '4006381333931', name: 'Pen', unitOfMeasure: 'EA', reorderPoint: 0 },
        'payload',
      ),
    ).toBeNull();
  });
});
