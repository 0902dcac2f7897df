import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isUUID, maxLength, minLength } from 'class-validator';
import { dateProblem, dateTimeProblem } from '../dates/strict-dates.js';
import type { FieldProblem } from '../errors/domain-error.js';
import { classSchema } from './class-schema.js';
import { schemaRules } from './schema-rules.js';

type Cls = new () => object;
type Schema = {
  properties?: Record<string, object>;
  required?: string[];
  definitions?: Record<string, Schema>;
};

/**
 * One Ajv for every class; its keywords mean exactly what the class-validator decorators they come from mean, so both
 * validators take and refuse the same values (test/payload-validator.spec.ts checks it on every catalog type).
 */
const ajv = new Ajv({
  allErrors: true,
  strict: true,
  // class-validator-jsonschema writes `not: { type: 'number', enum: [0] }` under `type: 'integer'` (@NotEquals).
  strictTypes: false,
  // class-validator's isInt and isNumber refuse Infinity, which JSON.parse makes of 1e999.
  strictNumbers: true,
  // class-validator's matches() runs the pattern without the u flag.
  unicodeRegExp: false,
});
// class-validator counts length as validator.js's isLength does: a surrogate pair and a character with its
// presentation selector (U+FE0E/U+FE0F) are one each; Ajv would count code points.
ajv.removeKeyword('minLength');
ajv.removeKeyword('maxLength');
ajv.addKeyword({
  keyword: 'minLength',
  type: 'string',
  schemaType: 'number',
  errors: false,
  validate: (min: number, data: string) => minLength(data, min),
});
ajv.addKeyword({
  keyword: 'maxLength',
  type: 'string',
  schemaType: 'number',
  errors: false,
  validate: (max: number, data: string) => maxLength(data, max),
});
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => dateTimeProblem(s) === null });
ajv.addFormat('date', { type: 'string', validate: (s: string) => dateProblem(s) === null });
// class-validator's @IsUUID() (validator.js "all"), which is not ajv-formats' uuid (that one takes a urn:uuid: prefix).
ajv.addFormat('uuid', { type: 'string', validate: (s: string) => isUUID(s) });

const ruleKeywords = new Set<string>();
function addRuleKeywords(): void {
  for (const [name, check] of schemaRules()) {
    if (ruleKeywords.has(name)) continue;
    ajv.addKeyword({
      keyword: name,
      schemaType: 'boolean',
      errors: false,
      validate: (_: boolean, d: unknown) => check(d),
    });
    ruleKeywords.add(name);
  }
}

/** @IsOptional() lets null and undefined through; a schema's optional property does not take null. */
function withNullableOptionals(schema: Schema): Schema {
  const copy = structuredClone(schema);
  const visit = (node: Schema) => {
    const required = new Set(node.required ?? []);
    for (const [name, property] of Object.entries(node.properties ?? {}))
      if (!required.has(name)) node.properties![name] = { anyOf: [{ type: 'null' }, property] };
    for (const definition of Object.values(node.definitions ?? {})) visit(definition);
  };
  visit(copy);
  return copy;
}

const compiled = new WeakMap<Cls, ValidateFunction>();

/** The class's compiled validator, compiled on first use (once per class: event types that share a payload share it). */
export function compiledValidator(cls: Cls): ValidateFunction {
  let validate = compiled.get(cls);
  if (!validate) {
    addRuleKeywords();
    validate = ajv.compile(withNullableOptionals(classSchema(cls) as Schema));
    compiled.set(cls, validate);
  }
  return validate;
}

const pointer = (instancePath: string) =>
  instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

/** Ajv's errors as the api's field problems (`payload.lines.0.quantity`), in class-validator's field naming. */
function fieldsOf(errors: ErrorObject[], prefix: string): FieldProblem[] {
  const problems = new Map<string, string>();
  for (const e of errors) {
    // The null branch of an optional property, and the anyOf that wraps it, say nothing the other branch does not.
    if (e.keyword === 'anyOf' || (e.keyword === 'type' && e.params.type === 'null')) continue;
    const path = pointer(e.instancePath);
    if (e.keyword === 'required') path.push(String(e.params.missingProperty));
    if (e.keyword === 'additionalProperties') path.push(String(e.params.additionalProperty));
    const field = [prefix, ...path].join('.');
    const name = path.at(-1) ?? prefix;
    const reason =
      e.keyword === 'additionalProperties'
        ? `property ${name} should not exist`
        : e.keyword === 'required'
          ? `${name} is required`
          : `${name} ${e.message ?? `breaks the ${e.keyword} rule`}`;
    if (!problems.has(field)) problems.set(field, reason);
  }
  return [...problems].map(([field, reason]) => ({ field, reason }));
}

/** Checks a value against a class's compiled validator: null when valid, else the problems (fields under `prefix`). */
export function compiledCheck(cls: Cls, value: unknown, prefix: string): FieldProblem[] | null {
  const validate = compiledValidator(cls);
  if (validate(value)) return null;
  const fields = fieldsOf(validate.errors ?? [], prefix);
  return fields.length ? fields : [{ field: prefix, reason: 'is invalid' }];
}
