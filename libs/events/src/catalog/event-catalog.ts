import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { DomainError, FieldProblem } from '../errors/domain-error.js';
import { classSchema } from './class-schema.js';
import { compiledCheck } from './compiled-validator.js';

/**
 * The typed map of event names to their current payload class. Libraries add their events by
 * declaration merging (`declare module '@wms/events' { interface EventMap { ... } }`), so
 * `publish(name, payload)` does not compile with the wrong payload.
 */
// Empty here on purpose: it is filled by declaration merging, which only works on an interface.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EventMap {}

export type EventName = keyof EventMap & string;

type PayloadClass<P = object> = new () => P;

export interface EventTypeDefinition<P extends object = object> {
  /** Persistent contract: stored events and queued jobs carry this name. Never rename; add a new version. */
  name: string;
  version: number;
  payload: PayloadClass<P>;
  description: string;
  aggregateType: string;
  // Method signatures (not arrow-typed properties), so any event's definition is also an EventTypeDefinition of object.
  /** Which aggregate (stream) an event belongs to, derived from its payload. */
  aggregateId(payload: P): string;
  warehouseId?(payload: P): string | undefined;
  /** Severity used by dashboards and notification rules. */
  severity?: 'info' | 'warning' | 'critical';
  emittedBy?: string[];
  /**
   * True for integration events that outside systems publish with POST /events. Domain events are
   * only emitted by the command that makes the change, so the store never claims a change that did not happen.
   */
  external?: boolean;
  /**
   * The business keys people look this event up by (SKU, order, ASN, carton, location, lot, tracking number): payload
   * field paths, `lines[].sku` for a field of each item of an array. Stored with the event and indexed, so
   * `GET /events?key=` finds it without reading payloads.
   */
  keys?: readonly string[];
}

export interface EventTypeDescription {
  name: string;
  version: number;
  description: string;
  aggregateType: string;
  severity: string;
  emittedBy: string[];
  external: boolean;
  keys: string[];
  listeners: string[];
  schema: object;
}

const definitions = new Map<string, EventTypeDefinition>();
const key = (name: string, version: number) => `${name}@${version}`;

/** Registers an event type; called at module load by the file that declares the payload class. */
export function defineEvent<P extends object>(definition: EventTypeDefinition<P>): EventTypeDefinition<P> {
  const existing = definitions.get(key(definition.name, definition.version));
  if (existing && existing.payload !== definition.payload) {
    throw new Error(`Event type ${definition.name} v${definition.version} is defined twice`);
  }
  definitions.set(key(definition.name, definition.version), definition);
  return definition;
}

function flatten(errors: ValidationError[], prefix: string): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = `${prefix}.${e.property}`;
    const own = Object.values(e.constraints ?? {}).map((reason) => ({ field, reason }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/**
 * What class-validator says of a value of `cls` (the api's ValidationPipe options): its field problems, or none. The
 * compiled validator decides; this words its refusals (refusals only, so off the hot path).
 */
export function classValidatorProblems(cls: PayloadClass, value: unknown, prefix: string): FieldProblem[] {
  const instance = plainToInstance(cls, value, { enableImplicitConversion: false });
  return flatten(
    validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }),
    prefix,
  );
}

/** Longest business key indexed; longer values (free text in a code field) are not keys anyone types. */
export const MAX_KEY_LENGTH = 200;

/** Business keys are matched without regard to case: a supervisor types `so-123` for `SO-123`. */
export const normalizeKey = (key: string) => key.trim().toLowerCase();

function valuesAt(value: unknown, path: string[]): unknown[] {
  if (!path.length) return [value];
  if (value === null || typeof value !== 'object') return [];
  const [head, ...rest] = path;
  const isArray = head.endsWith('[]');
  const child = (value as Record<string, unknown>)[isArray ? head.slice(0, -2) : head];
  if (!isArray) return valuesAt(child, rest);
  return Array.isArray(child) ? child.flatMap((item) => valuesAt(item, rest)) : [];
}

/** The normalized, distinct business keys of one event: what the store indexes it by. */
export function businessKeys(name: string, version: number, payload: unknown): string[] {
  const paths = definitions.get(key(name, version))?.keys ?? [];
  const keys = new Set<string>();
  for (const path of paths)
    for (const v of valuesAt(payload, path.split('.')))
      if (typeof v === 'string' && v.trim() && v.length <= MAX_KEY_LENGTH) keys.add(normalizeKey(v));
  return [...keys];
}

export class EventCatalog {
  static definitions(): EventTypeDefinition[] {
    return [...definitions.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
  }

  static latestVersion(name: string): number | undefined {
    let latest: number | undefined;
    for (const d of definitions.values())
      if (d.name === name && (latest === undefined || d.version > latest)) latest = d.version;
    return latest;
  }

  /** Resolves (name, version) or throws EVENTS.UNKNOWN_TYPE naming what is known. */
  static resolve(name: string, version?: number): EventTypeDefinition {
    const v = version ?? EventCatalog.latestVersion(name);
    const definition = v === undefined ? undefined : definitions.get(key(name, v));
    if (!definition) {
      const known = EventCatalog.latestVersion(name);
      const reason =
        known === undefined
          ? `unknown event name "${name}"; GET /event-types lists the known ones`
          : `unknown version ${version} of "${name}"; the latest is ${known}`;
      throw new DomainError('EVENTS.UNKNOWN_TYPE', reason, 'invalid', [
        { field: known === undefined ? 'name' : 'version', reason },
      ]);
    }
    return definition;
  }

  /** Like resolve(), for POST /events: refuses domain events, which only their command may emit. */
  static resolveExternal(name: string, version?: number): EventTypeDefinition {
    const definition = EventCatalog.resolve(name, version);
    if (!definition.external) {
      const reason =
        `${name} is a domain event: it is emitted by ${(definition.emittedBy ?? ['its command']).join(', ')}, ` +
        'not published directly';
      throw new DomainError('EVENTS.NOT_PUBLISHABLE', reason, 'invalid', [{ field: 'name', reason }]);
    }
    return definition;
  }

  /**
   * Validates a payload against its type's compiled schema; returns it, or throws EVENTS.INVALID_PAYLOAD naming each
   * field and the reason (worded by the class-validator decorators the schema comes from).
   */
  static checkPayload(definition: EventTypeDefinition, payload: unknown): object {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new DomainError('EVENTS.INVALID_PAYLOAD', 'payload must be a JSON object', 'invalid', [
        { field: 'payload', reason: 'must be a JSON object' },
      ]);
    }
    // Postgres cannot store \u0000 in jsonb or text: refuse it here rather than fail the whole batch later.
    if (JSON.stringify(payload).includes('\\u0000')) {
      throw new DomainError('EVENTS.INVALID_PAYLOAD', 'payload contains a NUL character (\\u0000)', 'invalid', [
        { field: 'payload', reason: 'contains a NUL character' },
      ]);
    }
    const problems = compiledCheck(definition.payload, payload, 'payload');
    if (problems) {
      const worded = classValidatorProblems(definition.payload, payload, 'payload');
      const fields = worded.length ? worded : problems;
      throw new DomainError(
        'EVENTS.INVALID_PAYLOAD',
        `payload of ${definition.name} v${definition.version} is invalid: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`,
        'invalid',
        fields,
      );
    }
    return payload;
  }

  /** checkPayload, for callers that await it. */
  static async validatePayload(definition: EventTypeDefinition, payload: unknown): Promise<object> {
    return EventCatalog.checkPayload(definition, payload);
  }

  static describe(listenersOf: (name: string) => string[] = () => []): EventTypeDescription[] {
    return EventCatalog.definitions().map((d) => ({
      name: d.name,
      version: d.version,
      description: d.description,
      aggregateType: d.aggregateType,
      severity: d.severity ?? 'info',
      emittedBy: d.emittedBy ?? [],
      external: d.external ?? false,
      keys: [...(d.keys ?? [])],
      listeners: listenersOf(d.name),
      schema: classSchema(d.payload),
    }));
  }
}
