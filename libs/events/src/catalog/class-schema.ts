// @ts-expect-error class-transformer ships no types for its storage module; it holds the @Type() metadata.
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import { targetConstructorToSchema, validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { schemaRules } from './schema-rules.js';

type Cls = new () => object;

const schemaOptions = () => ({
  classTransformerMetadataStorage: defaultMetadataStorage,
  additionalConverters: {
    isStrictDateTime: { type: 'string' as const, format: 'date-time' },
    isStrictDate: { type: 'string' as const, format: 'date' },
    // A SchemaRule becomes a keyword of its own name, which the compiled validator knows.
    ...Object.fromEntries([...schemaRules().keys()].map((name) => [name, { [name]: true }])),
  },
});

/**
 * The JSON Schema of a class's class-validator rules (an event payload, a request item), with the definitions of the
 * nested classes it refers to; unknown properties are refused, as the api's ValidationPipe refuses them.
 */
export function classSchema(cls: Cls): object {
  const options = schemaOptions();
  const schema = targetConstructorToSchema(cls, options) as {
    properties?: Record<string, { items?: { $ref?: string }; $ref?: string }>;
  };
  const all = validationMetadatasToSchemas(options) as Record<string, object>;
  const refs = Object.values(schema.properties ?? {})
    .map((p) => p.items?.$ref ?? p.$ref)
    .filter((r): r is string => Boolean(r))
    .map((r) => r.split('/').pop()!);
  const definitions = Object.fromEntries(refs.map((name) => [name, { ...all[name], additionalProperties: false }]));
  return { ...schema, additionalProperties: false, ...(refs.length ? { definitions } : {}) };
}
