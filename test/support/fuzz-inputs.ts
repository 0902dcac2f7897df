import { plainToInstance } from 'class-transformer';
// @ts-expect-error class-transformer ships no types for its storage module; it holds the @Type() metadata.
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import { getMetadataStorage, validate } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata.js';
import fc from 'fast-check';
import { parse as parseForm } from 'node:querystring';
import { badTextAt, jsonDepth, MAX_JSON_DEPTH } from '../../apps/api/src/common/request-text.js';
import { validationPipe } from '../../apps/api/src/common/validation.pipe.js';
import type { ApiRoute } from './api-routes.js';

type Dto = new () => object;

/** One property of a DTO, as its class-validator (and class-transformer @Type) decorators describe it. */
export interface FieldSpec {
  name: string;
  /** Neither @IsOptional nor @ValidateIf: leaving it out is an error. */
  required: boolean;
  /** Constraint name → its arguments, for the value itself and for each element of a list. */
  rules: Record<string, unknown[]>;
  each: Record<string, unknown[]>;
  /** The class of a @ValidateNested property (or of a free-form field validated elsewhere, like an event payload). */
  nested?: DtoSpec;
  list: boolean;
  /** @Type(() => Number): a query parameter read as a number. */
  numeric: boolean;
}

export interface DtoSpec {
  cls: Dto;
  fields: FieldSpec[];
}

/**
 * The fields of a DTO from class-validator's metadata. `inner` names free-form properties validated against another
 * class later on (POST /events validates `payload` against the event's payload class).
 */
export function dtoSpec(cls: Dto, inner: Record<string, Dto> = {}): DtoSpec {
  const storage = getMetadataStorage();
  const byProperty = new Map<string, ValidationMetadata[]>();
  for (const m of storage.getTargetValidationMetadatas(cls, '', true, false))
    byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);
  const fields = [...byProperty].map(([name, metas]): FieldSpec => {
    const rules: Record<string, unknown[]> = {};
    const each: Record<string, unknown[]> = {};
    for (const m of metas) {
      if (m.type === 'customValidation' && m.name) (m.each ? each : rules)[m.name] = m.constraints ?? [];
      if (m.type === 'isDefined') rules.isDefined = [];
    }
    const type = defaultMetadataStorage.findTypeMetadata(cls, name)?.typeFunction?.() as Dto | undefined;
    const nestedMeta = metas.find((m) => m.type === 'nestedValidation');
    const nestedClass = inner[name] ?? (nestedMeta && type && type !== (Number as unknown) ? type : undefined);
    return {
      name,
      required: !metas.some((m) => m.type === 'conditionalValidation'),
      rules,
      each,
      nested: nestedClass ? dtoSpec(nestedClass) : undefined,
      list: 'isArray' in rules || 'arrayMinSize' in rules || 'arrayMaxSize' in rules || Boolean(nestedMeta?.each),
      numeric: type === (Number as unknown),
    };
  });
  return { cls, fields };
}

// ---------------------------------------------------------------------------------------------------------------
// Bad values

/** A JSON token written as it is into the body text (`1e999` parses to Infinity, `NaN` is not JSON at all). */
class RawJson {
  constructor(readonly text: string) {}
  toJSON() {
    return `\u0007raw:${this.text}\u0007`;
  }
}

/** A value to put where a field's value goes. `sure`: bad whatever the DTO says (see Ingredient). */
interface Bad {
  value: unknown;
  sure?: boolean;
}
const maybe = (value: unknown): Bad => ({ value });
const sure = (value: unknown): Bad => ({ value, sure: true });

/**
 * Dates no calendar has, ISO-8601 forms the api does not take (week and ordinal dates), the year 0 and years out of
 * range: bad even where a DTO's date check lets them through.
 */
export const BAD_DATES = [
  '2026-02-30T00:00:00Z',
  '2026-02-29T12:00:00Z',
  '2026-04-31T08:30:00Z',
  '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-11-25T24:00:01Z',
  '2026-11-25T23:60:00Z',
  '2026-11-25T08:30:00+24:00',
  '2027-W13-3',
  '2027-W13-3T10:00:00Z',
  '2027-085',
  '0000-01-01T00:00:00Z',
  '0000-01-01',
  '+275760-09-14T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '2026-02-30',
  '2027-W13',
];

const TRICKY_STRINGS = [
  '',
  ' ',
  'a',
  'A B',
  'a-01',
  '-A',
  'A_1',
  'A/1',
  '../x',
  'Ä',
  'A\n',
  '\tA',
  'A\u200b',
  '\u{1F4E6}',
  "'; DROP TABLE stock; --",
  '<script>',
  '%00',
  '${x}',
  '\\',
  '"',
  'null',
  'x'.repeat(300),
];
const BAD_EMAILS = ['a', 'a@', '@b.c', 'a b@c.de', 'a@b..c', 'a@@b.c', '<a@b.c>', 'a@b.c\n', `${'x'.repeat(300)}@b.c`];
const BAD_UUIDS = [
  'x',
  '0190000-0000-7000-8000-000000000000',
  '01900000-0000-7000-8000-0000000000000',
  'g1900000-0000-7000-8000-000000000000',
  '{01900000-0000-7000-8000-000000000000}',
  '01900000000070008000000000000000',
];
const BAD_TIME_ZONES = ['Mars/Olympus', 'UTC+25', 'Europe/Nowhere', 'europe amsterdam', '../../etc/passwd'];
const BAD_URLS = ['not a url', 'ftp://push.example.com/x', 'javascript:alert(1)', 'https://', '//push.example.com/x'];
const RAW_NUMBERS = [
  '1e999',
  '-1e999',
  '1e-400',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x1F',
  '.5',
  '01',
  '+1',
  '1e',
  '--1',
];

/** A string with NUL or a lone UTF-16 surrogate somewhere in it. */
const badText = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.constantFrom('\u0000', '\ud800', '\udfff', '\udbff'),
    fc.string({ maxLength: 8 }),
  )
  .map(([a, bad, b]) => a + bad + b);

/** Nested objects and lists, n levels deep (the api refuses more than 32 unread). */
const nest = (n: number, leaf: unknown = 1): unknown =>
  n === 0 ? leaf : n % 2 ? { a: nest(n - 1, leaf) } : [nest(n - 1, leaf)];

const anyJson = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.string({ maxLength: 20 }),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.integer(), { maxKeys: 2 }),
  fc.integer({ min: 2, max: MAX_JSON_DEPTH - 2 }).map((n) => nest(n)),
);

const limit = (rules: Record<string, unknown[]>) => {
  const len = rules.length as number[] | undefined;
  return {
    min: (rules.minLength?.[0] as number | undefined) ?? len?.[0],
    max: (rules.maxLength?.[0] as number | undefined) ?? len?.[1],
  };
};

const isDateField = (rules: Record<string, unknown[]>) =>
  'isIso8601' in rules || (rules.matches?.[0] instanceof RegExp && /\\d\{4\}-\\d\{2\}/.test(rules.matches[0].source));

/** Values that break one of a field's rules (or that look like they might: `maybe` ones are checked with the DTO). */
function badValues(rules: Record<string, unknown[]>, required: boolean): fc.Arbitrary<Bad>[] {
  const out: fc.Arbitrary<Bad>[] = [anyJson.map(maybe)];
  // Dates that pass a lax check are where 500s hide: drawn three times as often.
  if (required) out.push(fc.constant(maybe(null)));
  const stringy = [
    'isString',
    'matches',
    'length',
    'maxLength',
    'isEmail',
    'isUuid',
    'isIso8601',
    'isTimeZone',
    'isUrl',
  ];
  if (stringy.some((r) => r in rules) || 'isIn' in rules) {
    out.push(badText.map(sure));
    const { min, max } = limit(rules);
    if (max !== undefined) out.push(fc.integer({ min: max + 1, max: max + 300 }).map((n) => maybe('A'.repeat(n))));
    if (min) out.push(fc.constant(maybe('A'.repeat(min - 1))));
  }
  if ('matches' in rules)
    out.push(fc.oneof(fc.constantFrom(...TRICKY_STRINGS), fc.string({ maxLength: 40 })).map(maybe));
  if ('isIn' in rules) {
    const allowed = rules.isIn[0] as unknown[];
    const variants = allowed.flatMap((a) => (typeof a === 'string' ? [a.toUpperCase(), ` ${a}`, `${a}\n`] : []));
    out.push(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...variants, 'other')).map(maybe));
  }
  if (isDateField(rules)) out.push(...Array(3).fill(fc.constantFrom(...BAD_DATES).map(sure)));
  if ('isEmail' in rules) out.push(fc.constantFrom(...BAD_EMAILS).map(maybe));
  if ('isUuid' in rules) out.push(fc.constantFrom(...BAD_UUIDS).map(maybe));
  if ('isTimeZone' in rules) out.push(fc.constantFrom(...BAD_TIME_ZONES).map(maybe));
  if ('isUrl' in rules) out.push(fc.constantFrom(...BAD_URLS).map(maybe));
  if ('isBoolean' in rules) out.push(fc.constantFrom('true', 'false', 1, 0, 'yes').map(maybe));
  const numeric = ['isInt', 'isNumber', 'min', 'max', 'isPositive', 'notEquals'];
  if (numeric.some((r) => r in rules)) {
    const min = rules.min?.[0] as number | undefined;
    const max = rules.max?.[0] as number | undefined;
    const edges = [-1, 0, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_VALUE, Number.MAX_VALUE, 5e-324, 1e21];
    if (min !== undefined) edges.push(min - 1, min - 0.5, min - 1e9);
    if (max !== undefined) edges.push(max + 1, max + 0.5, max * 1000);
    out.push(fc.constantFrom(...edges).map(maybe));
    out.push(fc.constantFrom(...RAW_NUMBERS).map((t) => maybe(new RawJson(t))));
    out.push(fc.constantFrom('1', '0', '-1', '', 'NaN', '1e3', ' 5 ').map(maybe));
    // Positive, yet 0 at the 3 decimals weights are stored with.
    if ('isNumber' in rules && 'isPositive' in rules) out.push(fc.constantFrom(0.0001, 0.0004, 1e-7, 5e-324).map(sure));
    if ('isInt' in rules)
      out.push(
        fc
          .double({ min: -1e6, max: 1e6, noNaN: true })
          .filter((x) => !Number.isInteger(x))
          .map(maybe),
      );
  }
  if ('isObject' in rules) out.push(fc.constantFrom<unknown>([], 'x', 1, true, null).map(maybe));
  if ('isDefined' in rules) out.push(fc.constant(maybe(null)));
  return out;
}

/** Bad values for a field: its own rules, and for a list the list itself and its elements. */
export function badFor(field: FieldSpec, element: unknown): fc.Arbitrary<Bad> {
  const options = badValues(field.rules, field.required);
  if (field.list) {
    options.push(fc.constantFrom<unknown>('x', 1, {}, true).map(maybe));
    const minSize = field.rules.arrayMinSize?.[0] as number | undefined;
    const maxSize = field.rules.arrayMaxSize?.[0] as number | undefined;
    if (minSize) options.push(fc.constant(maybe([])));
    if (maxSize !== undefined)
      options.push(fc.constant(maybe(Array.from({ length: maxSize + 1 }, () => element ?? 'x'))));
    if (Object.keys(field.each).length)
      options.push(
        fc
          .oneof(...badValues(field.each, true))
          .map((bad) => ({ ...bad, value: [...(element === undefined ? [] : [element]), bad.value] })),
      );
  }
  return fc.oneof(...options);
}

/** Bad values as a query string carries them: text, or a repeated parameter. */
function badQueryValue(field: FieldSpec): fc.Arbitrary<Bad> {
  const asText = badFor(field, undefined)
    .filter((b) => (typeof b.value === 'string' && encodable(b.value)) || typeof b.value === 'number')
    .map((b) => ({ ...b, value: String(b.value) }));
  const options: fc.Arbitrary<Bad>[] = [
    asText,
    fc.constant(sure('a\u0000b')),
    fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })).map((pair) => maybe(pair)),
  ];
  if (field.numeric)
    options.push(
      fc
        .constantFrom('abc', '1.5', '-1', '0', '', '1e999', 'NaN', 'Infinity', '0x', '1,5', '\u0661', '99999999')
        .map(maybe),
    );
  return fc.oneof(...options);
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

/** A request under construction: the valid input of a route, then bent by ingredients. */
export interface Draft {
  /** Path segments as sent (percent-encoded). */
  params: Record<string, string>;
  /** Query parameters, decoded; a key may repeat. */
  query: [string, string][];
  body: unknown;
  /** Replaces the serialized body (malformed or oversized JSON). */
  bodyText?: string;
  contentType: string;
}

/**
 * One way a request is bad. Most are checked against the route's own pipes before the request counts as bad
 * (mustRefuse); `sure` tells, on the finished draft, whether this one is bad whatever the DTO says — an unknown field,
 * an impossible date, malformed JSON, an unsupported Content-Type — and still in effect (not undone by another one).
 */
export interface Ingredient {
  note: string;
  /** What it changes; one ingredient per target in a request. */
  target: string;
  apply(draft: Draft): void;
  sure?(draft: Draft): boolean;
}

type Path = (string | number)[];
const get = (value: unknown, path: Path): unknown =>
  path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    value,
  );
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
function setAt(root: unknown, path: Path, value: unknown, remove = false): void {
  const parent = get(root, path.slice(0, -1));
  if (!isObject(parent)) return;
  const key = path.at(-1)!;
  if (remove) delete parent[key];
  // defineProperty: `__proto__` becomes an own key, as a client's JSON would have it.
  else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}
const label = (path: Path) => path.join('.');
const sentAsJson = (d: Draft) => d.contentType === 'application/json' && d.bodyText === undefined;

/** Every field of a DTO present in a value of it, nested ones included (`lines.0.quantity`), with its spec. */
function fieldsIn(
  spec: DtoSpec,
  value: unknown,
  prefix: Path = [],
): { path: Path; field: FieldSpec; element: unknown }[] {
  return spec.fields.flatMap((field) => {
    const path = [...prefix, field.name];
    const own = get(value, path);
    const here = [{ path, field, element: Array.isArray(own) ? own[0] : undefined }];
    if (!field.nested) return here;
    if (field.list)
      return Array.isArray(own) && own.length ? [...here, ...fieldsIn(field.nested, value, [...path, 0])] : here;
    return isObject(own) ? [...here, ...fieldsIn(field.nested, value, path)] : here;
  });
}

/** The objects of a value that a DTO describes, where an unknown key must be refused. */
function objectsIn(spec: DtoSpec, value: unknown, prefix: Path = []): { path: Path; spec: DtoSpec }[] {
  if (!isObject(get(value, prefix))) return [];
  return [
    { path: prefix, spec },
    ...spec.fields.flatMap((f) => {
      if (!f.nested) return [];
      const own = get(value, [...prefix, f.name]);
      if (!f.list) return objectsIn(f.nested, value, [...prefix, f.name]);
      return Array.isArray(own) && own.length ? objectsIn(f.nested, value, [...prefix, f.name, 0]) : [];
    }),
  ];
}

/** Keys no DTO has: names of Object.prototype's members among them, which a naive whitelist takes for fields. */
const EXTRA_KEYS = [
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__proto__',
  'tenantId',
  'id',
  'isAdmin',
];

export interface RouteInput {
  params: Record<string, string>;
  query: Record<string, string>;
  body?: unknown;
  /** Free-form body fields validated against another class (see dtoSpec). */
  inner?: Record<string, Dto>;
}

const UNSUPPORTED_TYPES = [
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'image/png',
];
const encodable = (s: string) => {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
};

/**
 * The ingredients a route's bad requests are made of, from its DTOs' metadata and its path parameters, weighted so
 * that most requests reach its validation. `unknown` holds well-formed identifiers per parameter that name nothing.
 */
export function ingredients(route: ApiRoute, input: RouteInput, unknown: Record<string, string[]>) {
  const options: { weight: number; arbitrary: fc.Arbitrary<Ingredient> }[] = [];
  const body = route.body ? dtoSpec(route.body, input.inner) : undefined;
  const query = route.query ? dtoSpec(route.query) : undefined;

  if (body) {
    options.push({
      weight: 10,
      arbitrary: fc
        .constantFrom(...fieldsIn(body, input.body))
        .chain(({ path, field, element }) =>
          fc.oneof(
            { weight: 6, arbitrary: badFor(field, element).map((bad) => ({ path, bad, remove: false })) },
            { weight: field.required ? 1 : 0, arbitrary: fc.constant({ path, bad: maybe(undefined), remove: true }) },
          ),
        )
        .map(({ path, bad, remove }): Ingredient => ({
          note: remove ? `body: no ${label(path)}` : `body: ${label(path)} = ${show(bad.value)}`,
          target: `body:${label(path)}`,
          apply: (d) => setAt(d.body, path, bad.value, remove),
          sure: bad.sure ? (d) => sentAsJson(d) && get(d.body, path) === bad.value : undefined,
        })),
    });
    options.push({
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...objectsIn(body, input.body)),
          fc.oneof(fc.constantFrom(...EXTRA_KEYS), fc.string({ minLength: 1, maxLength: 12 })),
          anyJson,
        )
        .filter(([at, key]) => !at.spec.fields.some((f) => f.name === key))
        .map(([at, key, value]): Ingredient => ({
          note: `body: unknown field ${label([...at.path, key])}`,
          target: `body:${label([...at.path, key])}`,
          apply: (d) => setAt(d.body, [...at.path, key], value),
          sure: (d) => sentAsJson(d) && Object.hasOwn((get(d.body, at.path) as object) ?? {}, key),
        })),
    });
    options.push({
      weight: 1,
      arbitrary: fc.constantFrom<unknown>([], 'x', 0, null, true, [input.body]).map((value): Ingredient => ({
        note: `body = ${show(value)}`,
        target: 'body',
        apply: (d) => void (d.body = structuredClone(value)),
      })),
    });
  }
  if (route.method !== 'GET') {
    const sureText = (text: string) => (d: Draft) => d.contentType === 'application/json' && d.bodyText === text;
    options.push({
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(...UNSUPPORTED_TYPES).map((type): Ingredient => ({
          note: `Content-Type: ${type}`,
          target: 'content-type',
          apply: (d) => void (d.contentType = type),
          sure: (d) => d.contentType === type,
        })),
        fc.constantFrom('text/plain', 'application/x-www-form-urlencoded').map((type): Ingredient => ({
          note: `Content-Type: ${type}`,
          target: 'content-type',
          apply: (d) => void (d.contentType = type),
        })),
        fc.nat({ max: 20 }).map((cut): Ingredient => {
          const text = (d: Draft) => `${JSON.stringify(d.body ?? {}).slice(0, cut)},}`;
          return {
            note: `malformed JSON (cut at ${cut})`,
            target: 'text',
            apply: (d) => void (d.bodyText = text(d)),
            sure: (d) => d.contentType === 'application/json' && d.bodyText !== undefined,
          };
        }),
        fc.integer({ min: MAX_JSON_DEPTH + 1, max: 5000 }).map((n): Ingredient => {
          const text = '['.repeat(n) + ']'.repeat(n);
          return {
            note: `body nested ${n} deep`,
            target: 'text',
            apply: (d) => void (d.bodyText = text),
            sure: sureText(text),
          };
        }),
        fc.constant<Ingredient>({
          note: 'body over the size limit',
          target: 'text',
          apply: (d) => void (d.bodyText = JSON.stringify({ pad: 'x'.repeat(70_000) })),
          sure: (d) => d.bodyText?.length === 70_010,
        }),
        badText.map((text): Ingredient => ({
          note: `body: NUL or lone surrogate in a key`,
          target: `body:${text}`,
          apply: (d) => (isObject(d.body) ? setAt(d.body, [text], 1) : void (d.body = { [text]: 1 })),
        })),
      ),
    });
  }
  if (query) {
    const fields = query.fields;
    options.push({
      weight: 8,
      arbitrary: fc
        .constantFrom(...fields)
        .chain((field) => badQueryValue(field).map((bad) => ({ field, bad })))
        .map(({ field, bad }): Ingredient => ({
          note: `query: ${field.name} = ${show(bad.value)}`,
          target: `query:${field.name}`,
          apply: (d) => {
            d.query = d.query.filter(([k]) => k !== field.name);
            for (const v of [bad.value].flat()) d.query.push([field.name, String(v)]);
          },
          sure: bad.sure ? (d) => d.query.some(([k, v]) => k === field.name && v === bad.value) : undefined,
        })),
    });
    options.push({
      weight: 2,
      arbitrary: fc
        .oneof(fc.constantFrom(...EXTRA_KEYS), fc.string({ minLength: 1, maxLength: 12 }))
        .filter((key) => !fields.some((f) => f.name === key))
        .map((key): Ingredient => ({
          note: `query: unknown parameter ${key}`,
          target: `query:${key}`,
          apply: (d) => void d.query.push([key, '1']),
          sure: (d) => d.query.some(([k]) => k === key),
        })),
    });
  }
  options.push({
    weight: 1,
    arbitrary: fc.constantFrom('\u0000', 'a\u0000b').map((text): Ingredient => ({
      note: `query: NUL in a parameter`,
      target: 'query:\u0000',
      apply: (d) => void d.query.push([query?.fields[0]?.name ?? 'q', text]),
    })),
  });
  const unknownIds: fc.Arbitrary<Ingredient>[] = [];
  for (const { name } of route.params) {
    const param = (segment: string): Ingredient => ({
      note: `path: ${name} = ${show(segment)}`,
      target: `param:${name}`,
      apply: (d) => void (d.params[name] = segment),
    });
    options.push({
      weight: body || query ? 4 : 12,
      arbitrary: fc
        .oneof(
          { weight: 3, arbitrary: fc.constantFrom(...PATH_SEGMENTS) },
          { weight: 2, arbitrary: fc.string({ maxLength: 40 }).filter(encodable).map(encodeURIComponent) },
        )
        .map(param),
    });
    if (unknown[name]?.length) unknownIds.push(fc.constantFrom(...unknown[name]).map(param));
  }
  // Mostly one ingredient (its refusal then names it); some requests combine two or three (of distinct targets).
  const one = fc.oneof(...options);
  const bad = fc.oneof(
    { weight: 3, arbitrary: one.map((i) => [i]) },
    {
      weight: options.length > 1 ? 1 : 0,
      arbitrary: fc.uniqueArray(one, { minLength: 2, maxLength: 3, selector: (i) => i.target }),
    },
  );
  // A valid request but for one identifier that names nothing: it reaches the handler and its existence checks.
  return unknownIds.length
    ? fc.oneof({ weight: 6, arbitrary: bad }, { weight: 1, arbitrary: fc.oneof(...unknownIds).map((i) => [i]) })
    : bad;
}

const PATH_SEGMENTS = [
  ' ',
  'a',
  'wh1',
  '-A',
  'A_B',
  '%00',
  '%',
  '%zz',
  '%ED%A0%80',
  '%F0%9F%93%A6',
  'A%2FB',
  'A%20B',
  'A'.repeat(33),
  'A'.repeat(101),
  '1'.repeat(2000),
  '%C0%AF',
  'null',
  '00000000-0000-0000-0000-00000000000g',
];

const show = (value: unknown): string => {
  const text = value instanceof RawJson ? value.text : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
};

/** The draft of a route's valid input, to be bent. */
export const draftOf = (input: RouteInput): Draft => ({
  params: Object.fromEntries(Object.entries(input.params).map(([k, v]) => [k, encodeURIComponent(v)])),
  query: Object.entries(input.query),
  body: input.body === undefined ? undefined : structuredClone(input.body),
  contentType: 'application/json',
});

/** The request a draft becomes. */
export function requestOf(route: ApiRoute, d: Draft) {
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => d.params[name]);
  const query = d.query.length
    ? `?${d.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`
    : '';
  const body =
    route.method === 'GET'
      ? undefined
      : (d.bodyText ??
        (d.body === undefined
          ? undefined
          : JSON.stringify(d.body).replace(/"\\u0007raw:(.*?)\\u0007"/g, (_, raw: string) => raw)));
  return { method: route.method, url: path + query, contentType: d.contentType, body };
}

const pipe = validationPipe();
const BODY_LIMIT = 64 * 1024;
const refuses = async (work: () => unknown) => {
  try {
    await work();
    return false;
  } catch {
    return true;
  }
};

/**
 * What the api must answer to a request, by its own rules — the route's parameter pipes, the global ValidationPipe on
 * its DTOs, the body parser and the request-text hook: `refuse` (a 4xx), `unknown` when all that is wrong is a
 * well-formed identifier that names nothing (`exists`; a 404, or a 2xx that changes nothing, like an idempotent
 * DELETE), or null when the request is valid.
 */
export async function mustRefuse(
  route: ApiRoute,
  req: ReturnType<typeof requestOf>,
  d: Draft,
  inner: Record<string, Dto> = {},
  exists: (param: string, value: string) => boolean,
): Promise<'refuse' | 'unknown' | null> {
  let unknown = false;
  for (const { name, pipes } of route.params) {
    const raw = d.params[name];
    if (raw === '' || raw.length > 100) return 'refuse';
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return 'refuse';
    }
    if (badTextAt(value, name)) return 'refuse';
    for (const p of pipes) if (await refuses(() => p.transform(value, { type: 'param', data: name }))) return 'refuse';
    if (!exists(name, value)) unknown = true;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of d.query) query[k] = k in query ? [query[k], v].flat() : v;
  if (badTextAt(query, '')) return 'refuse';
  if (route.query && (await refuses(() => pipe.transform(query, { type: 'query', metatype: route.query }))))
    return 'refuse';
  const valid = unknown ? 'unknown' : null;
  if (req.body === undefined || route.method === 'GET') return valid;
  let parsed: unknown;
  const type = req.contentType.split(';')[0].trim();
  if (type === 'application/json') {
    if (Buffer.byteLength(req.body) > BODY_LIMIT || jsonDepth(req.body) > MAX_JSON_DEPTH) return 'refuse';
    try {
      parsed = req.body === '' ? {} : JSON.parse(req.body);
    } catch {
      return 'refuse';
    }
  } else if (type === 'text/plain') parsed = req.body;
  else if (type === 'application/x-www-form-urlencoded') parsed = { ...parseForm(req.body) };
  else return 'refuse';
  if (badTextAt(parsed, '')) return 'refuse';
  if (!route.body) return valid;
  if (await refuses(() => pipe.transform(parsed, { type: 'body', metatype: route.body }))) return 'refuse';
  for (const [field, cls] of Object.entries(inner)) {
    const value = (parsed as Record<string, unknown>)[field];
    const errors = await validate(plainToInstance(cls, value) as object, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
    });
    if (errors.length) return 'refuse';
  }
  return valid;
}
