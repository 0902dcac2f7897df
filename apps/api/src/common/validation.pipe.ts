import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { compiledValidator, type FieldProblem } from '@wms/events';
import { MAX_JSON_DEPTH } from './request-text.js';

export class FieldValidationException extends Error {
  constructor(readonly fields: FieldProblem[]) {
    super(`invalid request: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`);
  }
}

function flatten(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    return [
      ...Object.values(e.constraints ?? {}).map((reason) => ({ field, reason })),
      ...flatten(e.children ?? [], field),
    ];
  });
}

/**
 * Keys that never reach the whitelist check, so an unknown one would pass silently: Nest's pipe deletes `prototype`
 * and `constructor`, class-transformer skips a key named like an inherited method (`toString`, `hasOwnProperty` …).
 * No DTO (and no event payload) has such a field.
 */
const PROTOTYPE_KEYS = new Set(['prototype', ...Object.getOwnPropertyNames(Object.prototype)]);

/** The path of the first key in `value` named like a member of Object.prototype, or null. */
function prototypeKeyAt(value: unknown, path: string, depth = 0, skip: string[] = []): string | null {
  if (value === null || typeof value !== 'object' || depth > MAX_JSON_DEPTH) return null;
  for (const [key, inner] of Object.entries(value)) {
    if (skip.includes(key)) continue;
    const at = path ? `${path}.${key}` : key;
    if (PROTOTYPE_KEYS.has(key)) return at;
    const found = prototypeKeyAt(inner, at, depth + 1);
    if (found) return found;
  }
  return null;
}

type Cls = new () => object;
const compiledBodies = new Set<Cls>();

/**
 * A request body checked by its compiled validator (Ajv, from the class's class-validator rules) instead of
 * class-transformer + class-validator: 3–6 µs instead of ~100 on the hot routes. class-validator then only words a
 * refusal, so a 400 names the same fields with the same reasons. Only for flat bodies that class-transformer would
 * not change — no @Type, @Transform or property defaults: the handler gets the parsed JSON as it is.
 * test/payload-validator.spec.ts checks that both validators take and refuse the same bodies of every such class.
 */
export const CompiledBody = (): ClassDecorator => (target) => void compiledBodies.add(target as unknown as Cls);

/** The body classes CompiledBody marked (for the agreement test). */
export const compiledBodyClasses = (): Cls[] => [...compiledBodies];

/** Nest's ValidationPipe, after refusing the keys its whitelist check never sees. */
class FieldValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata) {
    // A DTO's `validatedPerItem` fields are checked item by item by their handler, so one bad item is answered alone.
    const perItem = (metadata.metatype as { validatedPerItem?: string[] } | undefined)?.validatedPerItem ?? [];
    const field = metadata.type === 'body' || metadata.type === 'query' ? prototypeKeyAt(value, '', 0, perItem) : null;
    if (field) {
      const key = field.split('.').pop();
      throw new FieldValidationException([{ field, reason: `property ${key} should not exist` }]);
    }
    const cls = metadata.metatype as Cls | undefined;
    if (metadata.type === 'body' && cls && compiledBodies.has(cls) && compiledValidator(cls)(value)) return value;
    return super.transform(value, metadata);
  }
}

/** The global pipe: unknown fields are refused, and every error names its field. */
export const validationPipe = () =>
  new FieldValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new FieldValidationException(flatten(errors)),
  });
