import * as fs from 'node:fs';
import { configSchema, formatIssues, type AidConfig } from './schema';

/** `raw` is what the file itself holds (before defaults): what tells a value from the file from a default. */
export type ConfigLoad = { ok: true; config: AidConfig; raw: unknown; file: string; exists: boolean } | { ok: false; file: string; issues: string[] };

/** Reads and validates the config file; a missing file means defaults. Never throws. */
export function loadConfig(file: string): ConfigLoad {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, config: configSchema.parse({}), raw: {}, file, exists: false };
    return { ok: false, file, issues: [`cannot read the file (${code ?? String(error)}); check its permissions`] };
  }
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : JSON.parse(text);
  } catch (error) {
    return { ok: false, file, issues: [`invalid JSON: ${jsonErrorAt(text, error as Error)}`] };
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, file, issues: formatIssues(parsed.error) };
  return { ok: true, config: parsed.data, raw, file, exists: true };
}

/** JSON.parse's message with the line and column of its position, which editors go to. */
function jsonErrorAt(text: string, error: Error): string {
  const at = /at position (\d+)/.exec(error.message);
  if (!at) return error.message;
  const position = Number(at[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${error.message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${column}`;
}

/** `next` is the command that applies the fixed file: `aid reload` for a running daemon, `aid start` when it never started. */
export function describeConfigError(file: string, issues: string[], next = 'aid reload'): string {
  return `invalid config ${file}:\n${issues.map((i) => `  - ${i}`).join('\n')}\nFix the file (or move it away to use defaults), then run \`${next}\`.`;
}
