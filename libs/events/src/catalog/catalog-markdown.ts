import type { EventTypeDescription } from './event-catalog.js';

interface FieldSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  items?: FieldSchema;
  $ref?: string;
}

interface JsonSchema {
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

const describeField = (s: FieldSchema): string => {
  const parts: string[] = [s.type ?? (s.$ref ? 'object' : s.items ? 'array' : 'value')];
  if (s.type === 'array' && s.items?.$ref) parts[0] = `array of ${s.items.$ref.split('/').pop()}`;
  if (s.format) parts.push(s.format);
  if (s.enum) parts.push(`one of ${s.enum.map((v) => `\`${v}\``).join(', ')}`);
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.pattern) parts.push(`pattern \`${s.pattern}\``);
  return parts.join(', ');
};

/** The event catalog as a markdown document: every type, its schema, who emits it and who listens. */
export function renderCatalogMarkdown(types: EventTypeDescription[]): string {
  const lines = [
    '# Event catalog',
    '',
    'Generated from the code by `npm run catalog`; do not edit by hand (a test fails when it is out of date).',
    'The same information, with full JSON Schemas, is served at `GET /event-types`.',
    '',
    '| event | v | severity | aggregate | emitted by |',
    '| --- | --- | --- | --- | --- |',
    ...types.map(
      (t) =>
        `| [\`${t.name}\`](#${t.name.replace(/[^a-z0-9_-]/g, '')}-v${t.version}) | ${t.version} | ${t.severity} | ` +
        `${t.aggregateType} | ` +
        `${t.external ? 'integrations (POST /events)' : t.emittedBy.map((e) => e.split(' — ')[0]).join(', ')} |`,
    ),
    '',
  ];
  for (const t of types) {
    const schema = t.schema as JsonSchema;
    lines.push(`## ${t.name} v${t.version}`, '', t.description, '');
    lines.push(
      `- aggregate: \`${t.aggregateType}\`; severity: ${t.severity}${t.external ? '; published by integrations with `POST /events`' : ''}`,
    );
    lines.push(
      `- search keys (\`GET /events?key=\`): ${t.keys.length ? t.keys.map((k) => `\`${k}\``).join(', ') : '—'}`,
    );
    lines.push(`- emitted by: ${t.emittedBy.length ? t.emittedBy.map((e) => `\`${e}\``).join('; ') : '—'}`);
    lines.push(
      `- queued listeners: ${t.listeners.length ? t.listeners.map((l) => `\`${l}\``).join(', ') : 'none yet'}`,
      '',
    );
    lines.push('| field | required | type and rules |', '| --- | --- | --- |');
    for (const [field, s] of Object.entries(schema.properties ?? {})) {
      lines.push(
        `| \`${field}\` | ${schema.required?.includes(field) ? 'yes' : 'no'} | ${describeField(s).replace(/\|/g, '\\|')} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
