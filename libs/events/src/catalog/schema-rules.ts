import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

const rules = new Map<string, (value: unknown) => boolean>();

/**
 * Declares a custom class-validator rule that JSON Schemas know too, and returns its decorator: a property carrying it
 * gets the keyword `<name>: true` in the catalog's schemas, and the compiled validator checks that keyword with this
 * same `check`, so the two validators cannot drift apart. `message` is class-validator's (`$property` is the name).
 */
export function schemaRule(
  name: string,
  check: (value: unknown) => boolean,
  message: string,
): (options?: ValidationOptions) => PropertyDecorator {
  if (rules.has(name)) throw new Error(`Schema rule ${name} is declared twice`);
  rules.set(name, check);
  return (options) =>
    ValidateBy(
      {
        name,
        validator: { validate: (value) => check(value), defaultMessage: buildMessage((each) => each + message) },
      },
      options,
    );
}

/** Every rule declared with SchemaRule, by name. */
export const schemaRules = (): ReadonlyMap<string, (value: unknown) => boolean> => rules;
