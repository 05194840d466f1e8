type Schema = Record<string, unknown>;

/**
 * Checks a value against the part of JSON Schema (draft-07) the generated protocol schema uses:
 * $ref, type, enum, const, properties, required, additionalProperties, items, anyOf, allOf.
 * Returns what does not fit, each with its path; empty when the value fits.
 */
export function schemaProblems(value: unknown, schema: Schema, definitions: Record<string, Schema>, at = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const name = decodeURIComponent(schema.$ref.replace('#/definitions/', ''));
    const target = definitions[name];
    return target ? schemaProblems(value, target, definitions, at) : [`${at}: unknown $ref ${schema.$ref}`];
  }
  if (Array.isArray(schema.anyOf)) {
    const each = (schema.anyOf as Schema[]).map((s) => schemaProblems(value, s, definitions, at));
    return each.some((p) => p.length === 0) ? [] : [`${at}: fits none of ${each.length} alternatives (${each.map((p) => p[0]).join('; ')})`];
  }
  if (Array.isArray(schema.allOf)) return (schema.allOf as Schema[]).flatMap((s) => schemaProblems(value, s, definitions, at));
  if ('const' in schema && value !== schema.const) return [`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => typeMatches(value, t))) return [`${at}: ${JSON.stringify(value)} is not of type ${types.join('|')}`];
  }
  if (Array.isArray(value) && schema.items) return value.flatMap((v, i) => schemaProblems(v, schema.items as Schema, definitions, `${at}[${i}]`));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const problems = ((schema.required ?? []) as string[]).filter((k) => !(k in record)).map((k) => `${at}: lacks required ${k}`);
    for (const [k, v] of Object.entries(record)) {
      if (properties[k]) problems.push(...schemaProblems(v, properties[k], definitions, `${at}.${k}`));
      else if (schema.additionalProperties === false) problems.push(`${at}: has ${k}, which the schema does not know`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
        problems.push(...schemaProblems(v, schema.additionalProperties as Schema, definitions, `${at}.${k}`));
    }
    return problems;
  }
  return [];
}

function typeMatches(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}
