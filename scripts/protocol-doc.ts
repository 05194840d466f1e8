import type { ProtocolSchema } from './protocol-schema';

type JsonSchema = Record<string, unknown>;

const REF = '#/definitions/';

/** A schema as a short TypeScript-like type: what a table cell can hold. */
export function shapeOf(schema: JsonSchema | undefined, depth = 0): string {
  if (!schema) return '—';
  if (typeof schema.$ref === 'string') return decodeURIComponent(schema.$ref.slice(REF.length));
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  for (const union of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[union])) return (schema[union] as JsonSchema[]).map((s) => shapeOf(s, depth)).join(' \\| ');
  }
  if (Array.isArray(schema.allOf)) return (schema.allOf as JsonSchema[]).map((s) => shapeOf(s, depth)).join(' & ');
  if (Array.isArray(schema.type)) return (schema.type as string[]).map((t) => shapeOf({ ...schema, type: t }, depth)).join(' \\| ');
  switch (schema.type) {
    case 'array':
      return `${wrap(shapeOf(schema.items as JsonSchema | undefined, depth))}[]`;
    case 'object':
      return objectShape(schema, depth);
    case 'integer':
      return 'number';
    case undefined:
      return 'unknown';
    default:
      return String(schema.type);
  }
}

const wrap = (shape: string): string => (/[ |&]/.test(shape) && !shape.startsWith('{') ? `(${shape})` : shape);

function objectShape(schema: JsonSchema, depth: number): string {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  const names = Object.keys(properties);
  const extra = schema.additionalProperties;
  if (!names.length) {
    if (extra && typeof extra === 'object' && Object.keys(extra).length && !('not' in extra))
      return `Record<string, ${shapeOf(extra as JsonSchema, depth + 1)}>`;
    return '{}';
  }
  const fields = names.map((name) => `${name}${required.has(name) ? '' : '?'}: ${shapeOf(properties[name], depth + 1)}`);
  return `{ ${fields.join(', ')} }`;
}

const cell = (text: string | undefined): string =>
  (text ?? '').replace(/\|/g, (m, i: number, s: string) => (s[i - 1] === '\\' ? m : '\\|')).replace(/\n/g, ' ');
const code = (text: string): string => (text === '—' ? text : `\`${text}\``);

/** The generated part of docs/protocol.md: every method, notification, error and type, from the schema. */
export function renderReference(schema: ProtocolSchema): string {
  const noData = (data: JsonSchema): boolean => shapeOf(data) === '{}';
  const lines = [
    `### Methods (protocol ${schema.protocolVersion})`,
    '',
    '| method | params | result |',
    '|---|---|---|',
    ...Object.entries(schema.methods).map(([name, m]) => `| \`${name}\` | ${code(m.params ? shapeOf(m.params) : '—')} | ${code(shapeOf(m.result))} |`),
    '',
    '### Notifications',
    '',
    '| notification | params | sent |',
    '|---|---|---|',
    ...Object.entries(schema.notifications).map(([name, n]) => `| \`${name}\` | ${code(shapeOf(n.params))} | ${cell(n.description)} |`),
    '',
    '### Errors',
    '',
    '| code | name | `data` | `aic` exit code | when |',
    '|---|---|---|---|---|',
    ...Object.entries(schema.errors).map(
      ([codeNumber, e]) => `| ${codeNumber} | ${e.name} | ${noData(e.data) ? '—' : code(shapeOf(e.data))} | ${e.exitCode} | ${cell(e.description)} |`,
    ),
    '',
    '### Types',
    '',
    '| type | shape |',
    '|---|---|',
    ...Object.entries(schema.definitions).map(([name, def]) => `| \`${name}\` | ${code(shapeOf(def))} |`),
    '',
  ];
  return lines.join('\n');
}
